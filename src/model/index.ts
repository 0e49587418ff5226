/** The .tflite codec and graph helpers. */
export { ModelFormatError } from './errors.js';
export { readModel, dtypeOfTensorType, FILE_IDENTIFIER } from './read-model.js';
export { writeModel } from './write-model.js';
export { BUILTIN_OPERATORS, BUILTIN_CUSTOM, TENSOR_TYPES, builtinOperatorName } from './schema.js';
export type * from './types.js';
export {
  EDGETPU_CUSTOM_OP, operatorName, isCustomOperator, customOperatorNames, isEdgeTpuCompiled, producers, consumers,
  topologicalOrder, isConstant, parameterBytes, activationBytes,
} from './graph.js';
export { tensorSpec, modelTensorSpecs } from './tensor-spec.js';
