"""Token authentication whose lookups are cached briefly.

Every vote request authenticates; DRF's ``TokenAuthentication`` reads the token and its user
(one join), then the role check reads the user's groups (a second query). Here both answers
are kept in the cache (Redis when ``REDIS_URL`` is set, else per process) for at most
``TOKEN_CACHE_S`` seconds. Deleting a token, saving or deleting a user and changing a user's
groups drop the entries at once (for every process when the cache is Redis; a per-process
cache forgets within ``TOKEN_CACHE_S``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.permissions import user_roles

TOKEN_CACHE_S = 30


def _key(token_key: str) -> str:
    return f"raf:token:{token_key}"


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the user and roles cached."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        if not TOKEN_CACHE_S:
            return super().authenticate_credentials(key)
        cached = cache.get(_key(key))
        if cached is not None:
            user, token, roles = cached  # a fresh copy each time (the cache pickles)
            user._raf_roles = roles
            return user, token
        user, token = super().authenticate_credentials(key)  # raises for unknown keys and inactive users
        roles = user_roles(user)
        cache.set(_key(key), (user, token, roles), TOKEN_CACHE_S)
        return user, token


def forget_user_tokens(user_id: int) -> None:
    keys = list(Token.objects.filter(user_id=user_id).values_list("key", flat=True))
    if keys:
        cache.delete_many([_key(k) for k in keys])


@receiver(post_delete, sender=Token, dispatch_uid="raf_token_forget_deleted")
def _forget_deleted_token(sender: Any, instance: Token, **_: Any) -> None:
    cache.delete(_key(instance.key))


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
