/** Raised for any .tflite file that is not a well-formed model: says what is wrong and where. */
export class ModelFormatError extends Error {
  /**
   * @param problem what is wrong, e.g. `vector of 4000000000 elements runs past the end of the file`
   * @param where the field path, e.g. `subgraphs[0].tensors[12].buffer`, or `byte 1234`
   */
  constructor(
    readonly problem: string,
    readonly where: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid TFLite model at ${where}: ${problem}`, options);
    this.name = 'ModelFormatError';
  }
}
