"""The one error type services raise. Views and the API turn it into a message or a JSON error."""


class ApplicationError(Exception):
    """A refusal a user can act on: a stable machine-readable code and a human message."""

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
