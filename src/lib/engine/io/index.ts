/**
 * Reading and writing model weights: safetensors (single file and sharded) and the half-precision
 * formats they store.
 */
export {
	parseSafetensors,
	readSafetensorsHeader,
	headerLength,
	writeSafetensors,
	SafetensorsError,
	DTYPE_SIZE,
	type SafetensorsTensor,
	type SafetensorsHeader,
	type HeaderEntry,
	type TensorData,
	type WriteTensor,
	type WriteDtype
} from './safetensors';
export { loadSharded, type ShardIndex } from './sharded';
export {
	halfToFloat,
	floatToHalf,
	bfloat16ToFloat,
	floatToBfloat16,
	decodeHalf,
	decodeBfloat16,
	encodeHalf,
	encodeBfloat16,
	roundToHalf,
	roundToBfloat16
} from './float16';
