"""Token authentication whose lookups are cached: in this process, then in Redis.

Every vote request authenticates; DRF's ``TokenAuthentication`` reads the token and its user
(one join), then the role check reads the user's groups (a second query). Here both answers are
kept for at most ``TOKEN_CACHE_S`` seconds, at two levels:

- in Redis (Django's cache), shared by every process;
- in a bounded memo of this process, so a request that finds its token there makes no Redis
  round trip at all (about 0.15 ms of the web tier's CPU per vote, ``bench/README.md``).

Deleting a token, saving or deleting a user and changing a user's groups drop the entries at
once: the Redis entry is deleted, this process's memo entry is dropped, and the token key is
published on the channel ``raf:token:forget``, which a listener thread in every other process
follows (Redis pub/sub, delivered within milliseconds). A process uses its memo only while its
listener is subscribed: when the subscription is lost, the memo is emptied and bypassed (every
request reads Redis, as without a memo) until the listener has subscribed again, so a message
missed while disconnected can never leave a revoked token usable. The listener pings Redis
every ``HEARTBEAT_S`` seconds on its connection and counts the subscription as lost when nothing
(message or answer) has come back for twice that: a connection that died without being closed
(a network partition, a frozen Redis) ends the memo within seconds, not when its entries expire.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from typing import Any

from cachetools import TTLCache
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.permissions import user_roles

logger = logging.getLogger(__name__)

TOKEN_CACHE_S = 30
MEMO_SIZE = 4096  # tokens kept per process (LRU beyond, each for at most TOKEN_CACHE_S)
FORGET_CHANNEL = "raf:token:forget"
RESUBSCRIBE_S = 1.0  # wait between tries when the listener's connection fails
HEARTBEAT_S = 2.0  # the listener pings this often; silent for twice as long = connection lost


def _key(token_key: str) -> str:
    return f"raf:token:{token_key}"


class _TokenMemo:
    """This process's memo of token -> (user, token, roles), usable only while its listener
    is subscribed to :data:`FORGET_CHANNEL`."""

    def __init__(self) -> None:
        self._entries: TTLCache[str, tuple[Any, Token, frozenset[str]]] = TTLCache(maxsize=MEMO_SIZE, ttl=TOKEN_CACHE_S)
        self._lock = threading.Lock()
        self._listening = False
        self._warned = False
        # Bumped by every forget: a value read from Redis or the database while a forget ran
        # may be the old one, and is not kept (see :meth:`put`).
        self.generation = 0
        self._pid = 0  # the process whose listener runs (a forked child starts its own)

    def get(self, key: str) -> tuple[Any, Token, frozenset[str]] | None:
        self._ensure_listener()
        with self._lock:
            return self._entries.get(key) if self._listening else None

    def put(self, key: str, value: tuple[Any, Token, frozenset[str]], *, read_at: int) -> None:
        """Keep ``value``, read when :attr:`generation` was ``read_at``, unless a token was
        forgotten since."""
        with self._lock:
            if self._listening and self.generation == read_at:
                self._entries[key] = value

    def forget(self, keys: list[str]) -> None:
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._entries.clear()  # whatever was missed while (un)subscribing is forgotten
            self.generation += 1
            self._listening = listening

    def _ensure_listener(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._listening = False
            self._entries.clear()
        threading.Thread(target=self._listen, name="raf-token-forget", daemon=True).start()

    def _client(self) -> Any:
        from annotation.throttling import _redis

        return _redis()

    def _listen(self) -> None:
        while True:
            pubsub = None
            try:
                pubsub = self._client().pubsub()
                pubsub.subscribe(FORGET_CHANNEL)
                heard = pinged = time.monotonic()
                while True:
                    message = pubsub.get_message(timeout=min(1.0, HEARTBEAT_S / 2))
                    now = time.monotonic()
                    if message is not None:
                        heard = now
                        if message["type"] == "subscribe":
                            self._set_listening(True)
                            self._warned = False
                        elif message["type"] == "message":
                            data = message["data"]
                            self.forget([(data.decode() if isinstance(data, bytes) else str(data))])
                    elif now - heard > 2 * HEARTBEAT_S:
                        raise ConnectionError("Redis has not answered the token listener's pings.")
                    if now - pinged >= HEARTBEAT_S:
                        pubsub.ping()
                        pinged = now
            except Exception:  # the connection failed: bypass the memo until subscribed again
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "Token invalidations are not received; this process reads tokens from Redis until they are."
                    )
            finally:
                self._set_listening(False)
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:  # noqa: S110 - already broken
                        pass
            time.sleep(RESUBSCRIBE_S)


_memo = _TokenMemo()


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the user and roles cached."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        if not TOKEN_CACHE_S:
            return super().authenticate_credentials(key)
        cached = _memo.get(key)
        if cached is None:
            read_at = _memo.generation
            cached = cache.get(_key(key))
            if cached is None:
                user, token = super().authenticate_credentials(key)  # raises for unknown keys and inactive users
                cached = (user, token, frozenset(user_roles(user)))
                cache.set(_key(key), cached, TOKEN_CACHE_S)
            _memo.put(key, cached, read_at=read_at)
        user, token, roles = cached
        user = copy.copy(user)  # each request its own user object (views may set attributes)
        user._raf_roles = roles
        return user, token


def forget_tokens(keys: list[str]) -> None:
    """Drop these tokens from Redis, from this process's memo and (by a message) from every
    other process's."""
    if not keys:
        return
    cache.delete_many([_key(k) for k in keys])
    _memo.forget(keys)
    from annotation.throttling import _redis

    pipeline = _redis().pipeline(transaction=False)
    for k in keys:
        pipeline.publish(FORGET_CHANNEL, k)
    pipeline.execute()


def forget_user_tokens(user_id: int) -> None:
    forget_tokens(list(Token.objects.filter(user_id=user_id).values_list("key", flat=True)))


@receiver(post_delete, sender=Token, dispatch_uid="raf_token_forget_deleted")
def _forget_deleted_token(sender: Any, instance: Token, **_: Any) -> None:
    forget_tokens([instance.key])


@receiver(post_save, sender=get_user_model(), dispatch_uid="raf_token_forget_saved_user")
def _forget_saved_user(sender: Any, instance: Any, created: bool = False, **_: Any) -> None:
    if not created:
        forget_user_tokens(instance.pk)


@receiver(post_delete, sender=get_user_model(), dispatch_uid="raf_token_forget_deleted_user")
def _forget_deleted_user(sender: Any, instance: Any, **_: Any) -> None:
    forget_user_tokens(instance.pk)


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="raf_token_forget_roles")
def _forget_changed_roles(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any) -> None:
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:
        forget_user_tokens(instance.pk)
    else:  # group.user_set.add(...): instance is the group (before a clear its users are still there)
        for user_id in pk_set if pk_set is not None else list(instance.user_set.values_list("pk", flat=True)):
            forget_user_tokens(user_id)
