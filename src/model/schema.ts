/**
 * The TFLite flatbuffer schema (tflite/converter/schema/schema.fbs, version 3d) as data, so one generic
 * reader and one generic writer handle every table. Each table is a list of `name:type[=default]`
 * entries in field-id order (a union takes two ids: `<name>_type` then the value). Names are the
 * schema's snake_case; `fieldsOf` gives them in camelCase as the model uses them.
 *
 * Types: b bool, i8 u8 i16 u16 i32 u32 i64 u64 f32 f64, s string, [T] vector of T, [u8]/16 a byte
 * vector aligned to 16 in the file, a table name, or U:Union. Enum-typed fields are stored as their
 * underlying integer type.
 */

const TABLE_SOURCE: Record<string, string> = {
  Model:
    'version:u32 operator_codes:[OperatorCode] subgraphs:[SubGraph] description:s buffers:[Buffer] ' +
    'metadata_buffer:[i32] metadata:[Metadata] signature_defs:[SignatureDef] ' +
    'external_buffer_groups:[ExternalBufferGroup] external_buffers:[ExternalBuffer]',
  OperatorCode: 'deprecated_builtin_code:i8 custom_code:s version:i32=1 builtin_code:i32',
  SubGraph: 'tensors:[Tensor] inputs:[i32] outputs:[i32] operators:[Operator] name:s debug_metadata_index:i32=-1',
  Tensor:
    'shape:[i32] type:i8 buffer:u32 name:s quantization:QuantizationParameters is_variable:b ' +
    'sparsity:SparsityParameters shape_signature:[i32] has_rank:b variant_tensors:[VariantSubType] ' +
    'external_buffer:u32',
  QuantizationParameters:
    'min:[f32] max:[f32] scale:[f32] zero_point:[i64] details:U:QuantizationDetails quantized_dimension:i32',
  CustomQuantization: 'custom:[u8]/16',
  BlockwiseQuantization: 'scales:i32 zero_points:i32 block_size:i32',
  Int32Vector: 'values:[i32]',
  Uint16Vector: 'values:[u16]/4',
  Uint8Vector: 'values:[u8]/4',
  DimensionMetadata:
    'format:i8 dense_size:i32 array_segments:U:SparseIndexVector array_indices:U:SparseIndexVector',
  SparsityParameters: 'traversal_order:[i32] block_map:[i32] dim_metadata:[DimensionMetadata]',
  VariantSubType: 'shape:[i32] type:i8 has_rank:b',
  Operator:
    'opcode_index:u32 inputs:[i32] outputs:[i32] builtin_options:U:BuiltinOptions custom_options:[u8] ' +
    'custom_options_format:i8 mutating_variable_inputs:[b] intermediates:[i32] ' +
    'large_custom_options_offset:u64 large_custom_options_size:u64 builtin_options_2:U:BuiltinOptions2 ' +
    'debug_metadata_index:i32=-1',
  Buffer: 'data:[u8]/16 offset:u64 size:u64',
  ExternalBufferGroup: 'name:s',
  ExternalBuffer: 'id:u32 group:u32 offset:u64 length:u64 packing:s',
  Metadata: 'name:s buffer:u32',
  TensorMap: 'name:s tensor_index:u32',
  // deprecated_tag is deprecated in the schema but still occupies its id; kept so it round-trips.
  SignatureDef: 'inputs:[TensorMap] outputs:[TensorMap] signature_key:s deprecated_tag:s subgraph_index:u32',

  // BuiltinOptions members.
  Conv2DOptions:
    'padding:i8 stride_w:i32 stride_h:i32 fused_activation_function:i8 dilation_w_factor:i32=1 ' +
    'dilation_h_factor:i32=1 quantized_bias_type:i8',
  DepthwiseConv2DOptions:
    'padding:i8 stride_w:i32 stride_h:i32 depth_multiplier:i32 fused_activation_function:i8 ' +
    'dilation_w_factor:i32=1 dilation_h_factor:i32=1',
  ConcatEmbeddingsOptions: 'num_channels:i32 num_columns_per_channel:[i32] embedding_dim_per_channel:[i32]',
  LSHProjectionOptions: 'type:i8',
  Pool2DOptions: 'padding:i8 stride_w:i32 stride_h:i32 filter_width:i32 filter_height:i32 fused_activation_function:i8',
  SVDFOptions: 'rank:i32 fused_activation_function:i8 asymmetric_quantize_inputs:b',
  RNNOptions: 'fused_activation_function:i8 asymmetric_quantize_inputs:b',
  FullyConnectedOptions:
    'fused_activation_function:i8 weights_format:i8 keep_num_dims:b asymmetric_quantize_inputs:b quantized_bias_type:i8',
  SoftmaxOptions: 'beta:f32',
  ConcatenationOptions: 'axis:i32 fused_activation_function:i8',
  AddOptions: 'fused_activation_function:i8 pot_scale_int16:b=true',
  L2NormOptions: 'fused_activation_function:i8',
  LocalResponseNormalizationOptions: 'radius:i32 bias:f32 alpha:f32 beta:f32',
  LSTMOptions: 'fused_activation_function:i8 cell_clip:f32 proj_clip:f32 kernel_type:i8 asymmetric_quantize_inputs:b',
  // new_height/new_width are deprecated but keep their ids.
  ResizeBilinearOptions: 'new_height:i32 new_width:i32 align_corners:b half_pixel_centers:b',
  CallOptions: 'subgraph:u32',
  ReshapeOptions: 'new_shape:[i32]',
  SkipGramOptions: 'ngram_size:i32 max_skip_size:i32 include_all_ngrams:b',
  SpaceToDepthOptions: 'block_size:i32',
  EmbeddingLookupSparseOptions: 'combiner:i8',
  MulOptions: 'fused_activation_function:i8',
  PadOptions: '',
  GatherOptions: 'axis:i32 batch_dims:i32',
  BatchToSpaceNDOptions: '',
  SpaceToBatchNDOptions: '',
  TransposeOptions: '',
  ReducerOptions: 'keep_dims:b',
  SubOptions: 'fused_activation_function:i8 pot_scale_int16:b=true',
  DivOptions: 'fused_activation_function:i8',
  SqueezeOptions: 'squeeze_dims:[i32]',
  SequenceRNNOptions: 'time_major:b fused_activation_function:i8 asymmetric_quantize_inputs:b',
  StridedSliceOptions:
    'begin_mask:i32 end_mask:i32 ellipsis_mask:i32 new_axis_mask:i32 shrink_axis_mask:i32 offset:b',
  ExpOptions: '',
  TopKV2Options: '',
  SplitOptions: 'num_splits:i32',
  LogSoftmaxOptions: '',
  CastOptions: 'in_data_type:i8 out_data_type:i8',
  DequantizeOptions: '',
  MaximumMinimumOptions: '',
  ArgMaxOptions: 'output_type:i8',
  LessOptions: '',
  NegOptions: '',
  PadV2Options: '',
  GreaterOptions: '',
  GreaterEqualOptions: '',
  LessEqualOptions: '',
  SelectOptions: '',
  SliceOptions: '',
  TransposeConvOptions: 'padding:i8 stride_w:i32 stride_h:i32 fused_activation_function:i8 quantized_bias_type:i8',
  SparseToDenseOptions: 'validate_indices:b',
  TileOptions: '',
  ExpandDimsOptions: '',
  EqualOptions: '',
  NotEqualOptions: '',
  ShapeOptions: 'out_type:i8',
  PowOptions: '',
  ArgMinOptions: 'output_type:i8',
  FakeQuantOptions: 'min:f32 max:f32 num_bits:i32 narrow_range:b',
  PackOptions: 'values_count:i32 axis:i32',
  LogicalOrOptions: '',
  OneHotOptions: 'axis:i32',
  LogicalAndOptions: '',
  LogicalNotOptions: '',
  UnpackOptions: 'num:i32 axis:i32',
  FloorDivOptions: '',
  SquareOptions: '',
  ZerosLikeOptions: '',
  FillOptions: '',
  BidirectionalSequenceLSTMOptions:
    'fused_activation_function:i8 cell_clip:f32 proj_clip:f32 merge_outputs:b time_major:b=true ' +
    'asymmetric_quantize_inputs:b',
  BidirectionalSequenceRNNOptions:
    'time_major:b fused_activation_function:i8 merge_outputs:b asymmetric_quantize_inputs:b',
  UnidirectionalSequenceLSTMOptions:
    'fused_activation_function:i8 cell_clip:f32 proj_clip:f32 time_major:b asymmetric_quantize_inputs:b ' +
    'diagonal_recurrent_tensors:b',
  FloorModOptions: '',
  RangeOptions: '',
  ResizeNearestNeighborOptions: 'align_corners:b half_pixel_centers:b',
  LeakyReluOptions: 'alpha:f32',
  SquaredDifferenceOptions: '',
  MirrorPadOptions: 'mode:i8',
  AbsOptions: '',
  SplitVOptions: 'num_splits:i32',
  UniqueOptions: 'idx_out_type:i8=2',
  ReverseV2Options: '',
  AddNOptions: '',
  GatherNdOptions: '',
  CosOptions: '',
  WhereOptions: '',
  RankOptions: '',
  ReverseSequenceOptions: 'seq_dim:i32 batch_dim:i32',
  MatrixDiagOptions: '',
  QuantizeOptions: '',
  MatrixSetDiagOptions: '',
  HardSwishOptions: '',
  IfOptions: 'then_subgraph_index:i32 else_subgraph_index:i32',
  WhileOptions: 'cond_subgraph_index:i32 body_subgraph_index:i32',
  DepthToSpaceOptions: 'block_size:i32',
  NonMaxSuppressionV4Options: '',
  NonMaxSuppressionV5Options: '',
  ScatterNdOptions: '',
  SelectV2Options: '',
  DensifyOptions: '',
  SegmentSumOptions: '',
  BatchMatMulOptions: 'adj_x:b adj_y:b asymmetric_quantize_inputs:b',
  CumsumOptions: 'exclusive:b reverse:b',
  CallOnceOptions: 'init_subgraph_index:i32',
  BroadcastToOptions: '',
  Rfft2dOptions: '',
  Conv3DOptions:
    'padding:i8 stride_d:i32 stride_w:i32 stride_h:i32 fused_activation_function:i8 dilation_d_factor:i32=1 ' +
    'dilation_w_factor:i32=1 dilation_h_factor:i32=1',
  HashtableOptions: 'table_id:i32 key_dtype:i8 value_dtype:i8',
  HashtableFindOptions: '',
  HashtableImportOptions: '',
  HashtableSizeOptions: '',
  VarHandleOptions: 'container:s shared_name:s',
  ReadVariableOptions: '',
  AssignVariableOptions: '',
  RandomOptions: 'seed:i64 seed2:i64',
  BucketizeOptions: 'boundaries:[f32]',
  GeluOptions: 'approximate:b',
  DynamicUpdateSliceOptions: '',
  UnsortedSegmentProdOptions: '',
  UnsortedSegmentMaxOptions: '',
  UnsortedSegmentMinOptions: '',
  UnsortedSegmentSumOptions: '',
  ATan2Options: '',
  SignOptions: '',
  BitcastOptions: '',
  BitwiseXorOptions: '',
  RightShiftOptions: '',

  // BuiltinOptions2 members.
  StablehloConcatenateOptions: 'dimension:i64',
  StablehloBroadcastInDimOptions: 'broadcast_dimensions:[i64]',
  StablehloSliceOptions: 'start_indices:[i64] limit_indices:[i64] strides:[i64]',
  StablehloConvolutionOptions:
    'window_strides:[i64] padding:[i64] lhs_dilation:[i64] rhs_dilation:[i64] window_reversal:[b] ' +
    'input_batch_dimension:i64 input_feature_dimension:i64 input_spatial_dimensions:[i64] ' +
    'kernel_input_feature_dimension:i64 kernel_output_feature_dimension:i64 kernel_spatial_dimensions:[i64] ' +
    'output_batch_dimension:i64 output_feature_dimension:i64 output_spatial_dimensions:[i64] ' +
    'feature_group_count:i64 batch_group_count:i64 precision_config:[u32]',
  StablehloCustomCallOptions:
    'call_target_name:s has_side_effect:b backend_config:s api_version:i32 called_computations:[i32] ' +
    'custom_attributes:[u8]',
  StablehloReduceOptions: 'dimensions:[i64] body_subgraph_index:i32',
  StablehloScatterOptions:
    'indices_are_sorted:b update_window_dims:[i64] inserted_window_dims:[i64] ' +
    'scatter_dims_to_operand_dims:[i64] index_vector_dim:i64 unique_indices:b update_computation_subgraph_index:i32',
  StablehloCompareOptions: 'comparison_direction:u32 compare_type:u32',
  StablehloDynamicSliceOptions: 'slice_sizes:[i64]',
  StablehloPadOptions: 'edge_padding_low:[i64] edge_padding_high:[i64] interior_padding:[i64]',
  StablehloIotaOptions: 'iota_dimension:i64',
  StablehloDotGeneralOptions:
    'lhs_batching_dimensions:[i64] rhs_batching_dimensions:[i64] lhs_contracting_dimensions:[i64] ' +
    'rhs_contracting_dimensions:[i64] precision_config:[u32]',
  StablehloReduceWindowOptions:
    'window_dimensions:[i64] window_strides:[i64] base_dilations:[i64] window_dilations:[i64] padding:[i64] ' +
    'body_subgraph_index:i32',
  StablehloSortOptions: 'dimension:i64 is_stable:b comparator_subgraph_index:i32',
  StablehloWhileOptions: 'cond_subgraph_index:i32 body_subgraph_index:i32',
  StablehloGatherOptions:
    'offset_dims:[i64] collapsed_slice_dims:[i64] start_index_map:[i64] index_vector_dim:i64 ' +
    'slice_sizes:[i64] indices_are_sorted:b',
  StablehloTransposeOptions: 'permutation:[i64]',
  DilateOptions: '',
  StablehloRngBitGeneratorOptions: 'algorithm:i8',
  ReduceWindowOptions: 'reduce_function:i32',
  StableHLOCompositeOptions:
    'name:s decomposition_subgraph_index:i32 composite_attributes:[u8] composite_attributes_format:i8 version:i32',
  StablehloShiftLeftOptions: '',
  StablehloCaseOptions: 'branch_subgraph_indices:[i32]',
};

/** Union members in type-code order; code 0 is NONE. */
const UNION_SOURCE: Record<string, string> = {
  QuantizationDetails: 'CustomQuantization BlockwiseQuantization',
  SparseIndexVector: 'Int32Vector Uint16Vector Uint8Vector',
  BuiltinOptions:
    'Conv2DOptions DepthwiseConv2DOptions ConcatEmbeddingsOptions LSHProjectionOptions Pool2DOptions ' +
    'SVDFOptions RNNOptions FullyConnectedOptions SoftmaxOptions ConcatenationOptions AddOptions ' +
    'L2NormOptions LocalResponseNormalizationOptions LSTMOptions ResizeBilinearOptions CallOptions ' +
    'ReshapeOptions SkipGramOptions SpaceToDepthOptions EmbeddingLookupSparseOptions MulOptions PadOptions ' +
    'GatherOptions BatchToSpaceNDOptions SpaceToBatchNDOptions TransposeOptions ReducerOptions SubOptions ' +
    'DivOptions SqueezeOptions SequenceRNNOptions StridedSliceOptions ExpOptions TopKV2Options SplitOptions ' +
    'LogSoftmaxOptions CastOptions DequantizeOptions MaximumMinimumOptions ArgMaxOptions LessOptions ' +
    'NegOptions PadV2Options GreaterOptions GreaterEqualOptions LessEqualOptions SelectOptions SliceOptions ' +
    'TransposeConvOptions SparseToDenseOptions TileOptions ExpandDimsOptions EqualOptions NotEqualOptions ' +
    'ShapeOptions PowOptions ArgMinOptions FakeQuantOptions PackOptions LogicalOrOptions OneHotOptions ' +
    'LogicalAndOptions LogicalNotOptions UnpackOptions FloorDivOptions SquareOptions ZerosLikeOptions ' +
    'FillOptions BidirectionalSequenceLSTMOptions BidirectionalSequenceRNNOptions ' +
    'UnidirectionalSequenceLSTMOptions FloorModOptions RangeOptions ResizeNearestNeighborOptions ' +
    'LeakyReluOptions SquaredDifferenceOptions MirrorPadOptions AbsOptions SplitVOptions UniqueOptions ' +
    'ReverseV2Options AddNOptions GatherNdOptions CosOptions WhereOptions RankOptions ReverseSequenceOptions ' +
    'MatrixDiagOptions QuantizeOptions MatrixSetDiagOptions HardSwishOptions IfOptions WhileOptions ' +
    'DepthToSpaceOptions NonMaxSuppressionV4Options NonMaxSuppressionV5Options ScatterNdOptions ' +
    'SelectV2Options DensifyOptions SegmentSumOptions BatchMatMulOptions CumsumOptions CallOnceOptions ' +
    'BroadcastToOptions Rfft2dOptions Conv3DOptions HashtableOptions HashtableFindOptions ' +
    'HashtableImportOptions HashtableSizeOptions VarHandleOptions ReadVariableOptions AssignVariableOptions ' +
    'RandomOptions BucketizeOptions GeluOptions DynamicUpdateSliceOptions UnsortedSegmentProdOptions ' +
    'UnsortedSegmentMaxOptions UnsortedSegmentMinOptions UnsortedSegmentSumOptions ATan2Options SignOptions ' +
    'BitcastOptions BitwiseXorOptions RightShiftOptions',
  BuiltinOptions2:
    'StablehloConcatenateOptions StablehloBroadcastInDimOptions StablehloSliceOptions ' +
    'StablehloConvolutionOptions StablehloCustomCallOptions StablehloReduceOptions StablehloScatterOptions ' +
    'StablehloCompareOptions StablehloDynamicSliceOptions StablehloPadOptions StablehloIotaOptions ' +
    'StablehloDotGeneralOptions StablehloReduceWindowOptions StablehloSortOptions StablehloWhileOptions ' +
    'StablehloGatherOptions StablehloTransposeOptions DilateOptions StablehloRngBitGeneratorOptions ' +
    'ReduceWindowOptions StableHLOCompositeOptions StablehloShiftLeftOptions StablehloCaseOptions',
};

/** TensorType names by code. */
export const TENSOR_TYPES: readonly string[] = (
  'FLOAT32 FLOAT16 INT32 UINT8 INT64 STRING BOOL INT16 COMPLEX64 INT8 FLOAT64 COMPLEX128 UINT64 RESOURCE ' +
  'VARIANT UINT32 UINT16 INT4 BFLOAT16 INT2'
).split(' ');

/** BuiltinOperator names by code (0 ADD ... 209 STABLEHLO_CASE). */
export const BUILTIN_OPERATORS: readonly string[] = (
  'ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE EMBEDDING_LOOKUP ' +
  'FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC ' +
  'LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX ' +
  'SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD ' +
  'UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE ' +
  'UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX ' +
  'DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER ' +
  'GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL ' +
  'NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ' +
  'ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD ' +
  'RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL ' +
  'REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ' +
  'ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY ' +
  'SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D ' +
  'IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL ' +
  'CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS RANDOM_STANDARD_NORMAL ' +
  'BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD ' +
  'UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR ' +
  'RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM ' +
  'STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION ' +
  'STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE ' +
  'STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM STABLEHLO_NEGATE STABLEHLO_OR ' +
  'STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH ' +
  'STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE ' +
  'STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW ' +
  'STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR ' +
  'REDUCE_WINDOW STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE'
).split(' ');

export const BUILTIN_CUSTOM = BUILTIN_OPERATORS.indexOf('CUSTOM');

export type ScalarKind = 'b' | 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'f32' | 'f64';

/** What a field holds. */
export type FieldType =
  | { readonly kind: 'scalar'; readonly scalar: ScalarKind; readonly default: number | bigint | boolean }
  | { readonly kind: 'string' }
  | { readonly kind: 'table'; readonly table: string }
  | { readonly kind: 'union'; readonly union: string }
  | { readonly kind: 'vector'; readonly element: VectorElement; readonly align: number };

export type VectorElement =
  | { readonly kind: 'scalar'; readonly scalar: ScalarKind }
  | { readonly kind: 'string' }
  | { readonly kind: 'table'; readonly table: string };

export interface FieldDef {
  /** camelCase name, as in the model types. */
  readonly name: string;
  /** The vtable slot: the field id (for a union, the id of its value; its type byte is `slot - 1`). */
  readonly slot: number;
  readonly type: FieldType;
}

export interface TableDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
  /** Number of vtable slots the schema knows (ids 0 .. slotCount-1). */
  readonly slotCount: number;
}

const SCALARS = new Set<string>(['b', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'f32', 'f64']);

export const SCALAR_SIZE: Readonly<Record<ScalarKind, number>> = {
  b: 1, i8: 1, u8: 1, i16: 2, u16: 2, i32: 4, u32: 4, i64: 8, u64: 8, f32: 4, f64: 8,
};

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parseDefault(scalar: ScalarKind, text: string | undefined): number | bigint | boolean {
  if (scalar === 'b') return text === 'true';
  if (scalar === 'i64' || scalar === 'u64') return BigInt(text ?? 0);
  return Number(text ?? 0);
}

function parseElement(text: string, where: string): VectorElement {
  if (SCALARS.has(text)) return { kind: 'scalar', scalar: text as ScalarKind };
  if (text === 's') return { kind: 'string' };
  if (TABLE_SOURCE[text] !== undefined) return { kind: 'table', table: text };
  throw new Error(`schema: unknown type ${text} in ${where}`);
}

function parseTable(name: string, source: string): TableDef {
  const fields: FieldDef[] = [];
  let slot = 0;
  for (const entry of source.split(' ').filter(Boolean)) {
    const [fieldName, typeText = ''] = entry.split(/:(.*)/s);
    const where = `${name}.${fieldName}`;
    const [typeOnly, defaultText] = typeText.split('=');
    let type: FieldType;
    if (typeOnly.startsWith('U:')) {
      const union = typeOnly.slice(2);
      if (UNION_SOURCE[union] === undefined) throw new Error(`schema: unknown union ${union} in ${where}`);
      slot += 1; // the `<name>_type` byte takes the id before the value
      type = { kind: 'union', union };
    } else if (typeOnly.startsWith('[')) {
      const [inner, align] = typeOnly.slice(1).split(']');
      const element = parseElement(inner, where);
      type = { kind: 'vector', element, align: align ? Number(align.slice(1)) : 1 };
    } else if (SCALARS.has(typeOnly)) {
      const scalar = typeOnly as ScalarKind;
      type = { kind: 'scalar', scalar, default: parseDefault(scalar, defaultText) };
    } else {
      const element = parseElement(typeOnly, where);
      if (element.kind === 'scalar') throw new Error(`schema: bad type in ${where}`);
      type = element.kind === 'string' ? { kind: 'string' } : { kind: 'table', table: element.table };
    }
    fields.push({ name: camel(fieldName), slot, type });
    slot += 1;
  }
  return { name, fields, slotCount: slot };
}

export const TABLES: Readonly<Record<string, TableDef>> = Object.fromEntries(
  Object.entries(TABLE_SOURCE).map(([name, source]) => [name, parseTable(name, source)]),
);

/** Union member table names by type code; index 0 is NONE (no value). */
export const UNIONS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(UNION_SOURCE).map(([name, source]) => {
    const members = source.split(' ');
    for (const m of members) if (!TABLES[m]) throw new Error(`schema: union ${name} names unknown table ${m}`);
    return [name, ['NONE', ...members]];
  }),
);

export function tableDef(name: string): TableDef {
  const def = TABLES[name];
  if (!def) throw new Error(`schema: no table ${name}`);
  return def;
}

/** `CONV_2D` for 3; `BUILTIN_<code>` for a code newer than this schema. */
export function builtinOperatorName(code: number): string {
  return BUILTIN_OPERATORS[code] ?? `BUILTIN_${code}`;
}
