from enum import StrEnum


class DrillEventType1Type(StrEnum):
    PROBE_OUTPUT = "probe_output"

    def __str__(self) -> str:
        return str(self.value)
