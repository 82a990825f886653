from enum import StrEnum


class HookKind(StrEnum):
    AFTER_FAILURE = "after_failure"
    AFTER_SUCCESS = "after_success"
    TEST = "test"

    def __str__(self) -> str:
        return str(self.value)
