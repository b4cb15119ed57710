export { HealthMonitor, type HealthMonitorOptions, type ServingStatus } from "./health-monitor.js";
export { cacheHealthSource, probeStore, storeAnswering, type HealthSource } from "./health-source.js";
export { HEALTH_SERVICES, registerHealthService, type HealthServiceHandle } from "./health-service.js";
