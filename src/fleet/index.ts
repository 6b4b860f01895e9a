/** Fleet coordination through etcd: rollout slots, quarantine, agent registry. */
export { Fleet, type FleetHealth } from './fleet.js';
export { FleetUnavailableError, SlotTimeoutError, VersionQuarantinedError } from './errors.js';
export { parseEndpoints, groupPrefix, slotKey, agentKey, badKey } from './keys.js';
export {
  fleetDefaults,
  minLeaseTtlMs,
  type FleetConfig,
  type AgentRecord,
  type QuarantineRecord,
  type SlotRecord,
  type FleetStatus,
  type Slot,
  type AcquireOptions,
} from './types.js';
export { EtcdCoordinator } from './etcd-coordinator.js';
export { noCoordinator, openCoordinator, openFleet, type Admission, type Coordinator, type Refusal, type Settlement } from './coordinator.js';
