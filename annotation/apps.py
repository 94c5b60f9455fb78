from __future__ import annotations

from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.path_converters import register

        register()  # <id:...> in the URLconfs, loaded after every app is ready
        from annotation import (
            receivers,  # noqa: F401 - connects the signal receivers
            sql,  # noqa: F401 - JIT off on new Postgres connections
        )
        from annotation.apis import authentication  # noqa: F401 - token cache invalidation receivers
