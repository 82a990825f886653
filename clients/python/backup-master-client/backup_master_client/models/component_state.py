from enum import StrEnum


class ComponentState(StrEnum):
    APPLIED = "applied"
    APPLYING = "applying"
    PENDING = "pending"
    RESTORED = "restored"
    ROLLBACK_INCOMPLETE = "rollback_incomplete"
    ROLLED_BACK = "rolled_back"

    def __str__(self) -> str:
        return str(self.value)
