from enum import StrEnum


class OnChange(StrEnum):
    FAIL = "fail"
    WARN = "warn"

    def __str__(self) -> str:
        return str(self.value)
