/**
 * A restricted unpickler for the `data.pkl` of a `torch.save`d state dict. It runs no code: it knows
 * only the opcodes a state dict's pickle uses and only the globals it names (OrderedDict, torch's tensor
 * and parameter rebuild functions, the typed storage classes), and it evaluates those itself. Any other
 * global (`posix.system`, `builtins.eval`, a model class…) is refused by name before anything is built.
 * It is a loop over the bytes with an explicit stack: no recursion, and every length is checked against
 * the bytes that remain, so a hostile pickle costs at most its own size.
 */
import type { Dtype } from './dtypes'
import { CheckpointFormatError } from './errors'

export interface PickleTuple {
  kind: 'tuple'
  items: PickleValue[]
}
export interface PickleList {
  kind: 'list'
  items: PickleValue[]
}
export interface PickleDict {
  kind: 'dict'
  entries: Map<PickleValue, PickleValue>
}
export interface PickleGlobal {
  kind: 'global'
  name: string
}
/** A storage named by a persistent id: ('storage', torch.<Type>Storage, key, location, numel). */
export interface PickleStorage {
  kind: 'storage'
  dtype: Dtype
  key: string
  location: string
  /** Elements (of `dtype`) it holds. */
  numel: number
}
/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, …): a view of a storage, in elements. */
export interface PickleTensor {
  kind: 'tensor'
  storage: PickleStorage
  offset: number
  shape: number[]
  stride: number[]
}
export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleTuple | PickleList | PickleDict | PickleGlobal | PickleStorage | PickleTensor

/** Storage classes torch.save names, by element type. */
export const storageDtypes: Readonly<Record<string, Dtype>> = {
  'torch.FloatStorage': 'F32',
  'torch.HalfStorage': 'F16',
  'torch.BFloat16Storage': 'BF16',
  'torch.DoubleStorage': 'F64',
  'torch.LongStorage': 'I64',
  'torch.IntStorage': 'I32',
  'torch.ShortStorage': 'I16',
  'torch.CharStorage': 'I8',
  'torch.ByteStorage': 'U8',
  'torch.BoolStorage': 'BOOL'
}

const callables = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state'])

/** Storage types torch can save that have no dtype here: refused with what they are. */
const otherStorages = /^torch\.(Complex\w*|QUInt\w*|QInt\w*|Float8\w*|UInt\d+|Untyped)Storage$/

const maxStack = 1 << 20
const maxMemo = 1 << 22
const maxDims = 64

const mark: unique symbol = Symbol('mark')
type StackItem = PickleValue | typeof mark

const opNames: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG',
  0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS',
  0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO', 0x81: 'NEWOBJ',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1',
  0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER'
}

/**
 * The value `bytes` (a data.pkl) pickles. `file` and `entry` name it in errors. Nothing is executed:
 * OrderedDict() becomes an empty dict, a rebuild call becomes a PickleTensor.
 */
export function unpickleStateDict(bytes: Uint8Array, file: string, entry: string): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = new TextDecoder('utf-8', { fatal: true })
  const stack: StackItem[] = []
  const memo = new Map<number, PickleValue>()
  const storages = new Map<string, PickleStorage>()
  let p = 0

  const fail = (problem: string, at = p): never => {
    throw new CheckpointFormatError(file, `${entry} at byte ${at}: ${problem}`)
  }
  const need = (n: number): void => {
    if (n < 0 || p + n > bytes.byteLength) fail(`needs ${n} more bytes but the pickle ends at byte ${bytes.byteLength}`)
  }
  const push = (value: StackItem): void => {
    if (stack.length >= maxStack) fail(`the pickle's stack grows past ${maxStack} items`)
    stack.push(value)
  }
  const pop = (): PickleValue => {
    const value = stack.pop()
    if (value === undefined) return fail('pops an empty stack')
    if (value === mark) return fail('pops a MARK as a value')
    return value
  }
  const top = (): PickleValue => {
    const value = stack[stack.length - 1]
    if (value === undefined || value === mark) return fail('expects a value on the stack')
    return value
  }
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(mark)
    if (at < 0) return fail('has no MARK to pop to')
    const items = stack.splice(at) as PickleValue[]
    items.shift()
    return items
  }
  const put = (index: number): void => {
    if (memo.size >= maxMemo && !memo.has(index)) fail(`memoizes more than ${maxMemo} values`)
    memo.set(index, top())
  }
  const get = (index: number): void => {
    if (!memo.has(index)) fail(`refers to memo entry ${index}, which was never stored`)
    push(memo.get(index)!)
  }
  const readString = (length: number): string => {
    need(length)
    let value: string
    try {
      value = text.decode(bytes.subarray(p, p + length))
    } catch {
      return fail('holds a string that is not UTF-8')
    }
    p += length
    return value
  }
  const readLine = (): string => {
    const end = bytes.indexOf(0x0a, p)
    if (end < 0 || end - p > 1024) return fail('holds a GLOBAL name that does not end')
    const line = new TextDecoder('latin1').decode(bytes.subarray(p, end))
    p = end + 1
    return line
  }
  const uint64 = (): number => {
    need(8)
    const value = view.getBigUint64(p, true)
    p += 8
    if (value > BigInt(bytes.byteLength)) fail(`gives a length of ${value} bytes, more than the pickle holds`)
    return Number(value)
  }
  const global = (module: string, name: string, at: number): PickleGlobal => {
    const full = `${module}.${name}`
    if (callables.has(full) || Object.hasOwn(storageDtypes, full)) return { kind: 'global', name: full }
    if (otherStorages.test(full)) return fail(`uses ${full}, a storage type SiVA does not read (it reads ${Object.values(storageDtypes).join(', ')} tensors)`, at)
    return fail(`names the global ${full}, which a state dict never uses: SiVA refuses the file and runs nothing (loading it with torch.load could run code); save only model.state_dict(), or convert it to safetensors`, at)
  }

  while (true) {
    if (p >= bytes.byteLength) fail('ends without STOP')
    const at = p
    const op = bytes[p++]!
    switch (op) {
      case 0x80: // PROTO
        need(1)
        if (bytes[p]! < 2 || bytes[p]! > 5) fail(`uses pickle protocol ${bytes[p]}; torch.save writes 2`)
        p += 1
        break
      case 0x95: // FRAME: only a length hint
        need(8)
        p += 8
        break
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`stops with ${stack.length} items on the stack instead of one`)
        return pop()
      case 0x28: // MARK
        push(mark)
        break
      case 0x7d: // EMPTY_DICT
        push({ kind: 'dict', entries: new Map() })
        break
      case 0x5d: // EMPTY_LIST
        push({ kind: 'list', items: [] })
        break
      case 0x29: // EMPTY_TUPLE
        push({ kind: 'tuple', items: [] })
        break
      case 0x74: // TUPLE
        push({ kind: 'tuple', items: popMark() })
        break
      case 0x85:
      case 0x86:
      case 0x87: {
        // TUPLE1-3
        const n = op - 0x84
        if (stack.length < n) fail('builds a tuple from too few items')
        const items: PickleValue[] = []
        for (let i = 0; i < n; i++) items.unshift(pop())
        push({ kind: 'tuple', items })
        break
      }
      case 0x6c: // LIST
        push({ kind: 'list', items: popMark() })
        break
      case 0x64: // DICT
      case 0x75: {
        // SETITEMS
        const items = popMark()
        if (items.length % 2 !== 0) fail('sets a key without a value')
        const dict = op === 0x64 ? { kind: 'dict' as const, entries: new Map<PickleValue, PickleValue>() } : asDict(top(), fail)
        for (let i = 0; i < items.length; i += 2) dict.entries.set(items[i]!, items[i + 1]!)
        if (op === 0x64) push(dict)
        break
      }
      case 0x73: {
        // SETITEM
        const value = pop()
        const key = pop()
        asDict(top(), fail).entries.set(key, value)
        break
      }
      case 0x61: {
        // APPEND
        const value = pop()
        asList(top(), fail).items.push(value)
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        asList(top(), fail).items.push(...items)
        break
      }
      case 0x71: // BINPUT
        need(1)
        put(bytes[p++]!)
        break
      case 0x72: // LONG_BINPUT
        need(4)
        put(view.getUint32(p, true))
        p += 4
        break
      case 0x94: // MEMOIZE
        put(memo.size)
        break
      case 0x68: // BINGET
        need(1)
        get(bytes[p++]!)
        break
      case 0x6a: // LONG_BINGET
        need(4)
        get(view.getUint32(p, true))
        p += 4
        break
      case 0x4a: // BININT
        need(4)
        push(view.getInt32(p, true))
        p += 4
        break
      case 0x4b: // BININT1
        need(1)
        push(bytes[p++]!)
        break
      case 0x4d: // BININT2
        need(2)
        push(view.getUint16(p, true))
        p += 2
        break
      case 0x8a: {
        // LONG1: little-endian two's complement
        need(1)
        const n = bytes[p++]!
        need(n)
        let value = 0n
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[p + i]!)
        if (n > 0 && (bytes[p + n - 1]! & 0x80) !== 0) value -= 1n << BigInt(8 * n)
        p += n
        push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value)
        break
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8)
        push(view.getFloat64(p, false))
        p += 8
        break
      case 0x8c: // SHORT_BINUNICODE
        need(1)
        push(readString(bytes[p++]!))
        break
      case 0x58: {
        // BINUNICODE
        need(4)
        const n = view.getUint32(p, true)
        p += 4
        push(readString(n))
        break
      }
      case 0x8d: // BINUNICODE8
        push(readString(uint64()))
        break
      case 0x43: // SHORT_BINBYTES
      case 0x42: {
        // BINBYTES
        const width = op === 0x43 ? 1 : 4
        need(width)
        const n = width === 1 ? bytes[p]! : view.getUint32(p, true)
        p += width
        need(n)
        push(bytes.slice(p, p + n))
        p += n
        break
      }
      case 0x88: // NEWTRUE
        push(true)
        break
      case 0x89: // NEWFALSE
        push(false)
        break
      case 0x4e: // NONE
        push(null)
        break
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = readLine()
        const name = readLine()
        push(global(module, name, at))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings')
        push(global(module as string, name as string, at))
        break
      }
      case 0x51: {
        // BINPERSID
        const storage = persistentStorage(pop(), storages, fail)
        push(storage)
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        const callable = pop()
        push(reduce(callable, args, fail))
        break
      }
      case 0x62: {
        // BUILD: OrderedDict state (transformers' `_metadata`), or a parameter's: kept out of the tensors
        pop()
        const target = top()
        if (target === null || typeof target !== 'object' || !('kind' in target) || (target.kind !== 'dict' && target.kind !== 'tensor')) fail('BUILD sets state on something that is not a dict or a tensor')
        break
      }
      default:
        fail(`uses the pickle opcode ${opNames[op] ?? 'unknown'} (0x${op.toString(16).padStart(2, '0')}), which a state dict never needs: refused`, at)
    }
  }
}

function asDict(value: PickleValue, fail: (problem: string) => never): PickleDict {
  if (value === null || typeof value !== 'object' || !('kind' in value) || value.kind !== 'dict') return fail('sets an item on something that is not a dict')
  return value
}

function asList(value: PickleValue, fail: (problem: string) => never): PickleList {
  if (value === null || typeof value !== 'object' || !('kind' in value) || value.kind !== 'list') return fail('appends to something that is not a list')
  return value
}

function kindOf(value: PickleValue): string {
  if (value === null) return 'None'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'object') return value.kind
  return typeof value
}

function isTuple(value: PickleValue): value is PickleTuple {
  return value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && value.kind === 'tuple'
}

function persistentStorage(pid: PickleValue, storages: Map<string, PickleStorage>, fail: (problem: string) => never): PickleStorage {
  if (!isTuple(pid) || pid.items.length !== 5 || pid.items[0] !== 'storage') return fail(`has a persistent id that is not ('storage', type, key, location, numel) but a ${kindOf(pid)}`)
  const [, type, key, location, numel] = pid.items
  if (type === null || typeof type !== 'object' || type instanceof Uint8Array || type.kind !== 'global' || !Object.hasOwn(storageDtypes, type.name)) return fail('has a persistent id whose storage type is not a torch storage class')
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(key)) return fail(`has a storage key ${JSON.stringify(key)} that is not a plain name`)
  if (typeof location !== 'string') return fail(`storage ${key} has a location that is not a string`)
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return fail(`storage ${key} has an element count ${String(numel)} that is not a whole number`)
  const dtype = storageDtypes[type.name]!
  const known = storages.get(key)
  if (known) {
    if (known.dtype !== dtype || known.numel !== numel) return fail(`storage ${key} is named twice with different types or sizes`)
    return known
  }
  const storage: PickleStorage = { kind: 'storage', dtype, key, location, numel }
  storages.set(key, storage)
  return storage
}

function intTuple(value: PickleValue, what: string, fail: (problem: string) => never): number[] {
  if (!isTuple(value)) return fail(`${what} is a ${kindOf(value)}, not a tuple`)
  if (value.items.length > maxDims) return fail(`${what} has ${value.items.length} dimensions, more than ${maxDims}`)
  return value.items.map((n) => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return fail(`${what} holds ${String(n)}, not a non-negative whole number`)
    return n
  })
}

function reduce(callable: PickleValue, args: PickleValue, fail: (problem: string) => never): PickleValue {
  if (callable === null || typeof callable !== 'object' || callable instanceof Uint8Array || callable.kind !== 'global') return fail(`calls a ${kindOf(callable)}, not a global`)
  if (!isTuple(args)) return fail(`calls ${callable.name} with a ${kindOf(args)} instead of an argument tuple`)
  const a = args.items
  switch (callable.name) {
    case 'collections.OrderedDict':
      if (a.length !== 0) return fail('calls OrderedDict with arguments')
      return { kind: 'dict', entries: new Map() }
    case 'torch._utils._rebuild_tensor_v2': {
      if (a.length < 6 || a.length > 7) return fail(`calls _rebuild_tensor_v2 with ${a.length} arguments`)
      const storage = a[0]!
      if (storage === null || typeof storage !== 'object' || storage instanceof Uint8Array || storage.kind !== 'storage') return fail('rebuilds a tensor from something that is not a storage')
      const offset = a[1]
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return fail(`rebuilds a tensor at storage offset ${String(offset)}`)
      const shape = intTuple(a[2]!, 'a tensor size', fail)
      const stride = intTuple(a[3]!, 'a tensor stride', fail)
      if (shape.length !== stride.length) return fail(`rebuilds a tensor with ${shape.length} sizes but ${stride.length} strides`)
      return { kind: 'tensor', storage, offset, shape, stride }
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state': {
      const data = a[0]
      if (data === null || data === undefined || typeof data !== 'object' || data instanceof Uint8Array || data.kind !== 'tensor') return fail('rebuilds a parameter from something that is not a tensor')
      return data
    }
    default:
      return fail(`calls ${callable.name}, which is a type, not a function`)
  }
}
