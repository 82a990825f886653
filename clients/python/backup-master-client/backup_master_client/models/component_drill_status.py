from enum import StrEnum


class ComponentDrillStatus(StrEnum):
    FAILED = "failed"
    PASSED = "passed"
    PENDING = "pending"
    PROBING = "probing"
    RESTORING = "restoring"
    SKIPPED = "skipped"
    VERIFYING = "verifying"

    def __str__(self) -> str:
        return str(self.value)
