"""Contains all the data models used in inputs/outputs"""

from .audit_entry import AuditEntry
from .audit_page import AuditPage
from .backup_event_message import BackupEventMessage
from .backup_event_message_event import BackupEventMessageEvent
from .backup_event_type_0 import BackupEventType0
from .backup_event_type_0_type import BackupEventType0Type
from .backup_event_type_1 import BackupEventType1
from .backup_event_type_1_type import BackupEventType1Type
from .backup_list import BackupList
from .backup_record import BackupRecord
from .backup_set import BackupSet
from .backup_set_list import BackupSetList
from .backup_status import BackupStatus
from .component_drill import ComponentDrill
from .component_drill_status import ComponentDrillStatus
from .component_lifecycle import ComponentLifecycle
from .component_problem import ComponentProblem
from .component_progress import ComponentProgress
from .component_restore import ComponentRestore
from .component_state import ComponentState
from .component_status import ComponentStatus
from .component_update import ComponentUpdate
from .component_view import ComponentView
from .consistency import Consistency
from .copy_op import CopyOp
from .decision import Decision
from .delivery import Delivery
from .delivery_page import DeliveryPage
from .delivery_status import DeliveryStatus
from .drill_event_message import DrillEventMessage
from .drill_event_message_event import DrillEventMessageEvent
from .drill_event_type_0 import DrillEventType0
from .drill_event_type_0_type import DrillEventType0Type
from .drill_event_type_1 import DrillEventType1
from .drill_event_type_1_type import DrillEventType1Type
from .drill_event_type_2 import DrillEventType2
from .drill_event_type_2_type import DrillEventType2Type
from .drill_list import DrillList
from .drill_record import DrillRecord
from .drill_request import DrillRequest
from .drill_schedule import DrillSchedule
from .drill_status import DrillStatus
from .drill_trigger import DrillTrigger
from .dst_adjustment import DstAdjustment
from .edit_op import EditOp
from .entry_kind import EntryKind
from .event import Event
from .event_kind import EventKind
from .field_error import FieldError
from .folder_check import FolderCheck
from .folder_origin import FolderOrigin
from .folder_source import FolderSource
from .folder_time import FolderTime
from .folder_verification import FolderVerification
from .freeze_record import FreezeRecord
from .health import Health
from .heuristic_outcome import HeuristicOutcome
from .hook_kind import HookKind
from .hook_name import HookName
from .hook_output_message_type_0 import HookOutputMessageType0
from .hook_output_message_type_0_event import HookOutputMessageType0Event
from .hook_output_message_type_1 import HookOutputMessageType1
from .hook_output_message_type_1_event import HookOutputMessageType1Event
from .hook_process import HookProcess
from .hook_settings import HookSettings
from .hook_status import HookStatus
from .hook_test import HookTest
from .import_outcome import ImportOutcome
from .import_request import ImportRequest
from .imported_folder import ImportedFolder
from .in_doubt import InDoubt
from .kept_staging import KeptStaging
from .layout import Layout
from .lifecycle import Lifecycle
from .lifecycle_state import LifecycleState
from .next_run import NextRun
from .on_change import OnChange
from .operator_decision import OperatorDecision
from .outcome import Outcome
from .output_exit import OutputExit
from .output_line import OutputLine
from .owned_entry import OwnedEntry
from .participation import Participation
from .problem import Problem
from .profile import Profile
from .remote_set import RemoteSet
from .remote_verify_request import RemoteVerifyRequest
from .replicate_request import ReplicateRequest
from .replication_kind import ReplicationKind
from .replication_list import ReplicationList
from .replication_record import ReplicationRecord
from .replication_status import ReplicationStatus
from .replication_target_settings import ReplicationTargetSettings
from .replication_target_view import ReplicationTargetView
from .replication_trigger import ReplicationTrigger
from .restore_list import RestoreList
from .restore_record import RestoreRecord
from .restore_record_source_folders import RestoreRecordSourceFolders
from .restore_request import RestoreRequest
from .restore_request_source_folders_type_0 import RestoreRequestSourceFoldersType0
from .restore_status import RestoreStatus
from .role import Role
from .safety_copy import SafetyCopy
from .schedule_log_entry import ScheduleLogEntry
from .schedule_outcome_type_0 import ScheduleOutcomeType0
from .schedule_outcome_type_0_kind import ScheduleOutcomeType0Kind
from .schedule_outcome_type_1 import ScheduleOutcomeType1
from .schedule_outcome_type_1_kind import ScheduleOutcomeType1Kind
from .schedule_outcome_type_2 import ScheduleOutcomeType2
from .schedule_outcome_type_2_kind import ScheduleOutcomeType2Kind
from .schedule_settings import ScheduleSettings
from .scheduled_trigger import ScheduledTrigger
from .scratch_folder import ScratchFolder
from .set_folder import SetFolder
from .settings_update import SettingsUpdate
from .settings_view import SettingsView
from .severity import Severity
from .skip_op import SkipOp
from .slot_info import SlotInfo
from .snapshot_mode import SnapshotMode
from .step import Step
from .step_action import StepAction
from .target_settings import TargetSettings
from .target_settings_headers import TargetSettingsHeaders
from .target_view import TargetView
from .target_view_headers import TargetViewHeaders
from .test_outcome import TestOutcome
from .trigger import Trigger
from .txn_kind import TxnKind
from .undo_plan import UndoPlan
from .verification import Verification
from .verification_status import VerificationStatus
from .verification_summary import VerificationSummary

__all__ = (
    "AuditEntry",
    "AuditPage",
    "BackupEventMessage",
    "BackupEventMessageEvent",
    "BackupEventType0",
    "BackupEventType0Type",
    "BackupEventType1",
    "BackupEventType1Type",
    "BackupList",
    "BackupRecord",
    "BackupSet",
    "BackupSetList",
    "BackupStatus",
    "ComponentDrill",
    "ComponentDrillStatus",
    "ComponentLifecycle",
    "ComponentProblem",
    "ComponentProgress",
    "ComponentRestore",
    "ComponentState",
    "ComponentStatus",
    "ComponentUpdate",
    "ComponentView",
    "Consistency",
    "CopyOp",
    "Decision",
    "Delivery",
    "DeliveryPage",
    "DeliveryStatus",
    "DrillEventMessage",
    "DrillEventMessageEvent",
    "DrillEventType0",
    "DrillEventType0Type",
    "DrillEventType1",
    "DrillEventType1Type",
    "DrillEventType2",
    "DrillEventType2Type",
    "DrillList",
    "DrillRecord",
    "DrillRequest",
    "DrillSchedule",
    "DrillStatus",
    "DrillTrigger",
    "DstAdjustment",
    "EditOp",
    "EntryKind",
    "Event",
    "EventKind",
    "FieldError",
    "FolderCheck",
    "FolderOrigin",
    "FolderSource",
    "FolderTime",
    "FolderVerification",
    "FreezeRecord",
    "Health",
    "HeuristicOutcome",
    "HookKind",
    "HookName",
    "HookOutputMessageType0",
    "HookOutputMessageType0Event",
    "HookOutputMessageType1",
    "HookOutputMessageType1Event",
    "HookProcess",
    "HookSettings",
    "HookStatus",
    "HookTest",
    "ImportedFolder",
    "ImportOutcome",
    "ImportRequest",
    "InDoubt",
    "KeptStaging",
    "Layout",
    "Lifecycle",
    "LifecycleState",
    "NextRun",
    "OnChange",
    "OperatorDecision",
    "Outcome",
    "OutputExit",
    "OutputLine",
    "OwnedEntry",
    "Participation",
    "Problem",
    "Profile",
    "RemoteSet",
    "RemoteVerifyRequest",
    "ReplicateRequest",
    "ReplicationKind",
    "ReplicationList",
    "ReplicationRecord",
    "ReplicationStatus",
    "ReplicationTargetSettings",
    "ReplicationTargetView",
    "ReplicationTrigger",
    "RestoreList",
    "RestoreRecord",
    "RestoreRecordSourceFolders",
    "RestoreRequest",
    "RestoreRequestSourceFoldersType0",
    "RestoreStatus",
    "Role",
    "SafetyCopy",
    "ScheduledTrigger",
    "ScheduleLogEntry",
    "ScheduleOutcomeType0",
    "ScheduleOutcomeType0Kind",
    "ScheduleOutcomeType1",
    "ScheduleOutcomeType1Kind",
    "ScheduleOutcomeType2",
    "ScheduleOutcomeType2Kind",
    "ScheduleSettings",
    "ScratchFolder",
    "SetFolder",
    "SettingsUpdate",
    "SettingsView",
    "Severity",
    "SkipOp",
    "SlotInfo",
    "SnapshotMode",
    "Step",
    "StepAction",
    "TargetSettings",
    "TargetSettingsHeaders",
    "TargetView",
    "TargetViewHeaders",
    "TestOutcome",
    "Trigger",
    "TxnKind",
    "UndoPlan",
    "Verification",
    "VerificationStatus",
    "VerificationSummary",
)
