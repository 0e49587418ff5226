/**
 * A bounds-checked flatbuffer reader driven by the schema description in schema.ts. Every offset,
 * vtable, vector and string is checked against the buffer before it is used, so a corrupt or hostile
 * file ends in a ModelFormatError naming the field, never in a crash, a hang or a huge allocation.
 * (The `flatbuffers` package's ByteBuffer trusts the file, which is why this one is hand-written.)
 */
import { ModelFormatError } from './errors.js';
import { SCALAR_SIZE, UNIONS, tableDef, type FieldType, type ScalarKind, type VectorElement } from './schema.js';
import type { FieldValue, TableValue, UnionValue } from './types.js';

/** Deeper than any path through the TFLite schema (Model > SubGraph > Tensor > Sparsity > ...). */
const MAX_DEPTH = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class FlatbufferReader {
  private readonly view: DataView;
  /**
   * What decoding may still produce, in elements. Offsets may legally be shared, so a small file can
   * point at the same large vector many times; the budget keeps the decoded size proportional to the
   * file's size however the file is crafted.
   */
  private budget: number;
  private end = 0;

  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    // A plain Uint8Array view (not a Node Buffer subclass), so decoded data compares equal whatever
    // kind of array the caller passed in.
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = bytes.length + (1 << 20);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** One past the last byte read so far: after a whole decode, where the flatbuffer ends. */
  get referencedEnd(): number {
    return this.end;
  }

  /** Throws unless `[pos, pos + size)` lies inside the buffer. */
  check(pos: number, size: number, where: string, what: string): void {
    if (!(pos >= 0 && size >= 0 && pos + size <= this.bytes.length)) {
      throw new ModelFormatError(
        `${what} at byte ${pos} (${size} bytes) lies outside the ${this.bytes.length}-byte file`,
        where,
      );
    }
    if (pos + size > this.end) this.end = pos + size;
  }

  u32(pos: number): number {
    return this.view.getUint32(pos, true);
  }

  /**
   * Reads the table at `pos` generically, with every field of `tableName` that is present. `where`
   * is the table's path from the root table (empty for the root itself).
   */
  table(pos: number, tableName: string, path: string, depth = 0): TableValue {
    const where = path || `root ${tableName} table`;
    if (depth > MAX_DEPTH) throw new ModelFormatError(`tables nested deeper than ${MAX_DEPTH}`, where);
    this.spend(1, where);
    const def = tableDef(tableName);
    this.check(pos, 4, where, `${tableName} table`);
    const vtable = pos - this.view.getInt32(pos, true);
    this.check(vtable, 4, where, `vtable of ${tableName}`);
    const vtableSize = this.view.getUint16(vtable, true);
    const tableSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) {
      throw new ModelFormatError(`vtable of ${tableName} at byte ${vtable} has invalid size ${vtableSize}`, where);
    }
    this.check(vtable, vtableSize, where, `vtable of ${tableName}`);
    if (tableSize < 4) throw new ModelFormatError(`${tableName} table has invalid size ${tableSize}`, where);
    this.check(pos, tableSize, where, `${tableName} table`);
    const slots = (vtableSize - 4) / 2;
    const slotOffset = (slot: number) => (slot < slots ? this.view.getUint16(vtable + 4 + 2 * slot, true) : 0);
    // A field the schema does not know would be lost on re-encoding: refuse rather than drop it.
    for (let slot = def.slotCount; slot < slots; slot++) {
      if (slotOffset(slot) !== 0) {
        throw new ModelFormatError(
          `${tableName} has field id ${slot}, unknown to this codec's schema (a newer TFLite schema?)`,
          where,
        );
      }
    }
    const out: Record<string, FieldValue> = {};
    for (const field of def.fields) {
      const fieldWhere = path ? `${path}.${field.name}` : field.name;
      const fieldPos = (slot: number, size: number): number | undefined => {
        const offset = slotOffset(slot);
        if (offset === 0) return undefined;
        if (offset + size > tableSize) {
          throw new ModelFormatError(`field lies outside its ${tableSize}-byte ${tableName} table`, fieldWhere);
        }
        return pos + offset;
      };
      const type = field.type;
      if (type.kind === 'scalar') {
        const at = fieldPos(field.slot, SCALAR_SIZE[type.scalar]);
        out[field.name] = at === undefined ? type.default : this.scalar(type.scalar, at);
      } else if (type.kind === 'union') {
        const typeAt = fieldPos(field.slot - 1, 1);
        const code = typeAt === undefined ? 0 : this.view.getUint8(typeAt);
        const valueAt = fieldPos(field.slot, 4);
        const value = this.union(type.union, code, valueAt, fieldWhere, depth);
        if (value) out[field.name] = value;
      } else {
        const at = fieldPos(field.slot, 4);
        if (at !== undefined) out[field.name] = this.reference(type, this.follow(at, fieldWhere), fieldWhere, depth);
      }
    }
    return out;
  }

  /** The target of the uoffset stored at `at`. */
  follow(at: number, where: string): number {
    const target = at + this.u32(at);
    this.check(target, 4, where, 'offset target');
    return target;
  }

  private union(
    unionName: string,
    code: number,
    valueAt: number | undefined,
    where: string,
    depth: number,
  ): UnionValue | undefined {
    if (code === 0) {
      if (valueAt !== undefined) throw new ModelFormatError(`${unionName} value present with type NONE`, where);
      return undefined;
    }
    const member = UNIONS[unionName][code];
    if (member === undefined) {
      // An options table of a newer schema: its layout is unknown, so it can be neither read nor
      // re-encoded safely.
      throw new ModelFormatError(`${unionName} type code ${code} is unknown to this codec's schema`, where);
    }
    if (valueAt === undefined) throw new ModelFormatError(`${unionName} type ${member} without a value`, where);
    return { type: member, fields: this.table(this.follow(valueAt, where), member, where, depth + 1) };
  }

  private reference(type: Exclude<FieldType, { kind: 'scalar' | 'union' }>, target: number, where: string, depth: number): FieldValue {
    switch (type.kind) {
      case 'string': return this.string(target, where);
      case 'table': return this.table(target, type.table, where, depth + 1);
      case 'vector': return this.vector(type.element, target, where, depth);
    }
  }

  string(pos: number, where: string): string {
    const length = this.u32(pos);
    this.check(pos + 4, length + 1, where, `string of ${length} bytes`);
    if (this.bytes[pos + 4 + length] !== 0) throw new ModelFormatError('string is not NUL-terminated', where);
    this.spend(length, where);
    try {
      return utf8.decode(this.bytes.subarray(pos + 4, pos + 4 + length));
    } catch (cause) {
      throw new ModelFormatError('string is not valid UTF-8', where, { cause });
    }
  }

  private vector(element: VectorElement, pos: number, where: string, depth: number): FieldValue {
    const count = this.u32(pos);
    const start = pos + 4;
    const size = element.kind === 'scalar' ? SCALAR_SIZE[element.scalar] : 4;
    this.check(start, count * size, where, `vector of ${count} elements`);
    if (element.kind === 'scalar') {
      // Byte vectors (buffer data, custom options) stay views into the file: no copy.
      if (element.scalar === 'u8') return this.bytes.subarray(start, start + count);
      this.spend(count, where);
      const values: (number | bigint | boolean)[] = new Array(count);
      for (let i = 0; i < count; i++) values[i] = this.scalar(element.scalar, start + i * size);
      return values as FieldValue;
    }
    this.spend(count, where);
    const values: (string | TableValue)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const itemWhere = `${where}[${i}]`;
      const target = this.follow(start + i * 4, itemWhere);
      values[i] = element.kind === 'string' ? this.string(target, itemWhere) : this.table(target, element.table, itemWhere, depth + 1);
    }
    return values as FieldValue;
  }

  private scalar(kind: ScalarKind, at: number): number | bigint | boolean {
    const v = this.view;
    switch (kind) {
      case 'b': return v.getUint8(at) !== 0;
      case 'i8': return v.getInt8(at);
      case 'u8': return v.getUint8(at);
      case 'i16': return v.getInt16(at, true);
      case 'u16': return v.getUint16(at, true);
      case 'i32': return v.getInt32(at, true);
      case 'u32': return v.getUint32(at, true);
      case 'i64': return v.getBigInt64(at, true);
      case 'u64': return v.getBigUint64(at, true);
      case 'f32': return v.getFloat32(at, true);
      case 'f64': return v.getFloat64(at, true);
    }
  }

  private spend(units: number, where: string): void {
    this.budget -= units;
    if (this.budget < 0) {
      throw new ModelFormatError(
        'decoded model would be far larger than the file (offsets shared or overlapping in a way no writer produces)',
        where,
      );
    }
  }
}
