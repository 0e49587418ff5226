/**
 * Writes generic table values (as FlatbufferReader returns them) with the `flatbuffers` Builder,
 * driven by the schema description in schema.ts. Scalars equal to their schema default are left
 * out, as every flatbuffer writer does; strings, vectors, tables and unions are written when present.
 */
import { Builder } from 'flatbuffers';
import { SCALAR_SIZE, UNIONS, tableDef, type FieldDef, type ScalarKind, type VectorElement } from './schema.js';
import type { FieldValue, TableValue, UnionValue } from './types.js';

export function writeTable(b: Builder, tableName: string, value: TableValue): number {
  const def = tableDef(tableName);
  // Children first: a flatbuffer builder cannot start a table while another object is open.
  const offsets = new Map<FieldDef, number>();
  for (const field of def.fields) {
    const v = value[field.name];
    if (v === undefined || field.type.kind === 'scalar') continue;
    switch (field.type.kind) {
      case 'string': offsets.set(field, b.createString(v as string)); break;
      case 'table': offsets.set(field, writeTable(b, field.type.table, v as TableValue)); break;
      case 'union': offsets.set(field, writeTable(b, (v as UnionValue).type, (v as UnionValue).fields)); break;
      case 'vector': offsets.set(field, writeVector(b, field.type.element, field.type.align, v)); break;
    }
  }
  b.startObject(def.slotCount);
  for (const field of def.fields) {
    const type = field.type;
    if (type.kind === 'scalar') {
      addScalarField(b, field.slot, type.scalar, value[field.name] ?? type.default, type.default);
      continue;
    }
    const offset = offsets.get(field);
    if (offset === undefined) continue;
    if (type.kind === 'union') {
      const member = (value[field.name] as UnionValue).type;
      const code = UNIONS[type.union].indexOf(member);
      if (code <= 0) throw new TypeError(`${member} is not a member of union ${type.union}`);
      b.addFieldInt8(field.slot - 1, code, 0);
    }
    b.addFieldOffset(field.slot, offset, 0);
  }
  return b.endObject();
}

function addScalarField(b: Builder, slot: number, kind: ScalarKind, value: FieldValue, fallback: unknown): void {
  switch (kind) {
    case 'b': b.addFieldInt8(slot, value ? 1 : 0, fallback ? 1 : 0); break;
    case 'i8': case 'u8': b.addFieldInt8(slot, value as number, fallback as number); break;
    case 'i16': case 'u16': b.addFieldInt16(slot, value as number, fallback as number); break;
    case 'i32': case 'u32': b.addFieldInt32(slot, value as number, fallback as number); break;
    case 'i64': case 'u64': b.addFieldInt64(slot, BigInt(value as bigint), fallback as bigint); break;
    case 'f32': b.addFieldFloat32(slot, value as number, fallback as number); break;
    case 'f64': b.addFieldFloat64(slot, value as number, fallback as number); break;
  }
}

/** A byte vector whose data starts at a multiple of `align` from the start of the file. */
export function writeBytes(b: Builder, bytes: Uint8Array, align: number): number {
  // prep() pads so that the data about to be written ends the padding on an `align` boundary;
  // createByteVector then adds no padding of its own.
  b.prep(Math.max(align, 4), bytes.length);
  return b.createByteVector(bytes);
}

function writeVector(b: Builder, element: VectorElement, align: number, value: FieldValue): number {
  if (element.kind === 'scalar' && element.scalar === 'u8') return writeBytes(b, value as Uint8Array, align);
  const items = value as readonly unknown[];
  if (element.kind !== 'scalar') {
    const offsets = items.map((item) =>
      element.kind === 'string' ? b.createString(item as string) : writeTable(b, element.table, item as TableValue),
    );
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
    return b.endVector();
  }
  const size = SCALAR_SIZE[element.scalar];
  b.startVector(size, items.length, Math.max(size, align));
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    switch (element.scalar) {
      case 'b': b.addInt8(item ? 1 : 0); break;
      case 'i8': b.addInt8(item as number); break;
      case 'i16': case 'u16': b.addInt16(item as number); break;
      case 'i32': case 'u32': b.addInt32(item as number); break;
      case 'i64': case 'u64': b.addInt64(BigInt(item as bigint)); break;
      case 'f32': b.addFloat32(item as number); break;
      case 'f64': b.addFloat64(item as number); break;
    }
  }
  return b.endVector();
}
