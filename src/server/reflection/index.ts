export { DescriptorIndex } from "./descriptor-index.js";
export { answerReflectionRequest, registerReflectionService, routerServices, type ServiceList } from "./reflection-service.js";
