from enum import StrEnum


class EventKind(StrEnum):
    AGENT_REACHABLE = "agent_reachable"
    AGENT_UNREACHABLE = "agent_unreachable"
    BACKUP_CANCELLED = "backup_cancelled"
    BACKUP_FAILED = "backup_failed"
    BACKUP_INTERRUPTED = "backup_interrupted"
    BACKUP_STARTED = "backup_started"
    BACKUP_SUCCEEDED = "backup_succeeded"
    DRILL_FAILED = "drill_failed"
    HOOK_FAILED = "hook_failed"
    OVERDUE = "overdue"
    RESTORE_ENDED = "restore_ended"
    TEST = "test"
    VERIFICATION_FAILED = "verification_failed"

    def __str__(self) -> str:
        return str(self.value)
