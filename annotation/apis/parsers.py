"""The API's JSON parser: DRF's, with a body nested too deep for Python refused as ``400``."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """``[[[[...`` nested past the interpreter's recursion limit raises ``RecursionError`` in
    the json module; that is bad input (``400 parse_error``), not a server error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
