from enum import StrEnum


class HookName(StrEnum):
    ON_FAILURE = "on_failure"
    ON_SUCCESS = "on_success"

    def __str__(self) -> str:
        return str(self.value)
