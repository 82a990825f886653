from enum import StrEnum


class VerificationStatus(StrEnum):
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PASSED = "passed"
    RUNNING = "running"

    def __str__(self) -> str:
        return str(self.value)
