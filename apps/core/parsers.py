"""Request body parsers of the API: DRF's, refusing what PostgreSQL or Python cannot hold.

PostgreSQL rejects NUL (U+0000) in text and jsonb and psycopg cannot encode a lone surrogate, so a
value carrying one would end in a 500 wherever it reaches the database. Nesting is capped: the JSON
decoder recurses per level (1,000 levels raise RecursionError) and nothing the API stores needs more
than a few. Every parser here answers such a body with one 400, before any view or serializer runs.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32

NUL_MESSAGE = "The request body contains a NUL character (\\u0000), which cannot be stored."
ENCODING_MESSAGE = "The request body contains a character that is not valid UTF-8 (a lone surrogate)."
DEPTH_MESSAGE = f"The request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."


class InvalidBody(ParseError):
    default_code = "invalid_body"


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidBody(NUL_MESSAGE)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidBody(ENCODING_MESSAGE) from None


def check_json_value(value, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise InvalidBody when a parsed JSON value is nested deeper than max_depth or holds a string
    (key or value) PostgreSQL cannot store. Iterative, so any depth is safe to inspect."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidBody(DEPTH_MESSAGE)
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_form(data) -> None:
    for key, values in data.lists():
        _check_text(key)
        for value in values:
            if isinstance(value, str):
                _check_text(value)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing NUL, lone surrogates and nesting beyond MAX_JSON_DEPTH with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidBody(DEPTH_MESSAGE) from None
        check_json_value(data)
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing NUL and lone surrogates in field names and values with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing NUL in field names and values (not in uploaded files, which
    their own importers read) with 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_form(result.data)
        return result
