from enum import StrEnum


class StepAction(StrEnum):
    COMMITTED = "committed"
    COMMIT_DECIDED = "commit_decided"
    COMPONENT_APPLIED = "component_applied"
    COMPONENT_STARTED = "component_started"
    COPIED = "copied"
    CREATED_FOLDER = "created_folder"
    CREATED_SAFETY_FOLDER = "created_safety_folder"
    EDITED = "edited"
    FAILED = "failed"
    FINISHED = "finished"
    HEALTHY = "healthy"
    MOVED_ASIDE = "moved_aside"
    PLANNED = "planned"
    PUT_BACK = "put_back"
    RECOVERED = "recovered"
    REMOVED_COPY = "removed_copy"
    REMOVED_FOLDER = "removed_folder"
    REMOVED_SAFETY_FOLDER = "removed_safety_folder"
    ROLLED_BACK = "rolled_back"
    STARTED = "started"
    STOPPED = "stopped"
    STOPPING = "stopping"
    UNHEALTHY = "unhealthy"
    VERIFIED = "verified"

    def __str__(self) -> str:
        return str(self.value)
