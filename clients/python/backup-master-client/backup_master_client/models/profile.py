from enum import StrEnum


class Profile(StrEnum):
    CUSTOM = "custom"
    MAESTRO_HUB = "maestro-hub"
    MAESTRO_LUI = "maestro-lui"
    MAESTRO_TRACKER = "maestro-tracker"

    def __str__(self) -> str:
        return str(self.value)
