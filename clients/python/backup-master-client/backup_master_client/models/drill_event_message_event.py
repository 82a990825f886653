from enum import StrEnum


class DrillEventMessageEvent(StrEnum):
    COMPONENT = "component"
    END = "end"
    PROBE_OUTPUT = "probe_output"

    def __str__(self) -> str:
        return str(self.value)
