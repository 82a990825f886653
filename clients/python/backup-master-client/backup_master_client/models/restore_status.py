from enum import StrEnum


class RestoreStatus(StrEnum):
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PLANNED = "planned"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    UNHEALTHY = "unhealthy"

    def __str__(self) -> str:
        return str(self.value)
