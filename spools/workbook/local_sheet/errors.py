"""Google-shaped API errors (status code + ``{"error": {...}}`` body)."""

from __future__ import annotations

import json
from typing import Any

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error reply: HTTP ``code`` with Google's JSON error body."""

    def __init__(self, code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra or {}

    def body(self) -> bytes:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        error.update(self.extra)
        return json.dumps({"error": error}, ensure_ascii=False).encode()


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.")


def unable_to_parse(text: str) -> ApiError:
    return ApiError(400, f"Unable to parse range: {text}")


def simulated(code: int, write: bool) -> ApiError:
    """The injected 429 / 500 / 503, worded as Google words them."""
    if code == 429:
        metric = "Write" if write else "Read"
        return ApiError(
            429,
            f"Quota exceeded for quota metric '{metric} requests' and limit "
            f"'{metric} requests per minute per user' of service 'sheets.googleapis.com' "
            "for consumer 'project_number:000000000000'.",
            {
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "RATE_LIMIT_EXCEEDED",
                        "domain": "googleapis.com",
                        "metadata": {
                            "quota_metric": f"sheets.googleapis.com/{metric.lower()}_requests",
                            "service": "sheets.googleapis.com",
                            "quota_limit": f"{metric}RequestsPerMinutePerUser",
                            "consumer": "projects/000000000000",
                        },
                    }
                ]
            },
        )
    if code == 500:
        return ApiError(500, "Internal error encountered.")
    return ApiError(503, "The service is currently unavailable.")
