from enum import StrEnum


class LifecycleState(StrEnum):
    HEALTHY = "healthy"
    STARTED = "started"
    STARTING = "starting"
    STOPPED = "stopped"
    STOPPING = "stopping"
    STOP_FAILED = "stop_failed"
    UNHEALTHY = "unhealthy"
    UNTOUCHED = "untouched"

    def __str__(self) -> str:
        return str(self.value)
