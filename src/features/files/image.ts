// Every uploaded image is decoded and encoded again, so what is stored holds pixels and
// nothing else: no EXIF (GPS position, camera serial, time), no XMP or ICC extras, no
// comment or text chunk, no trailing bytes. Orientation from EXIF is applied first, so
// the picture looks the same without it.
//
// A decompression bomb (a tiny file declaring 100,000 x 100,000 pixels, which would take
// 40 GB to decode) is refused from its header: sharp reads the dimensions without decoding
// and `limitInputPixels` makes libvips refuse before allocating a pixel buffer.
import { lazyModule } from '../../core/lazy-module.ts';
import { UploadRefused, type ImageType } from './detect-type.ts';

/** Pixels an uploaded image may declare: 40 megapixels (8,000 x 5,000) is any camera's photo. */
export const MAX_INPUT_PIXELS = 40_000_000;
/** The longest side of a stored image; larger ones are scaled down. */
export const MAX_STORED_SIDE = 4096;
/** An avatar is cropped to a square of this side. */
export const AVATAR_SIDE = 512;

// sharp's native binding is loaded by the first image rather than at start. libvips keeps
// recently decoded images in a process-wide cache: uploads are never read twice, and a
// user's picture must not stay in memory after its request.
const loadSharp = lazyModule(async () => {
  const sharp = (await import('sharp')).default;
  sharp.cache(false);
  return sharp;
});

// Decoding a large image takes memory (up to 4 bytes a pixel for the parts libvips holds
// at once): two at a time per process, the others wait their turn, so a burst of uploads
// from many accounts cannot add up to more than the server has.
const IMAGE_SLOTS = 2;
let busy = 0;
const waiting: (() => void)[] = [];

async function withImageSlot<T>(work: () => Promise<T>): Promise<T> {
  if (busy >= IMAGE_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else busy += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next === undefined) busy -= 1;
    else next();
  }
}

export interface ImageOptions {
  /** `avatar`: a centred square of AVATAR_SIDE; `file`: at most MAX_STORED_SIDE on the longest side. */
  readonly shape: 'avatar' | 'file';
}

async function declaredPixels(bytes: Buffer): Promise<number> {
  try {
    const sharp = await loadSharp();
    const metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
    return metadata.width * metadata.height * Math.max(1, metadata.pages ?? 1);
  } catch (error) {
    throw new UploadRefused('invalid_image', 'invalid_image', `unreadable image header: ${error instanceof Error ? error.message : 'unknown'}`);
  }
}

/** The image decoded and encoded again in its own format, without metadata; throws UploadRefused. */
export async function reencodeImage(bytes: Buffer, type: ImageType, options: ImageOptions): Promise<Buffer> {
  const pixels = await declaredPixels(bytes);
  if (pixels === 0 || pixels > MAX_INPUT_PIXELS) throw new UploadRefused('image_too_large', 'invalid_image', `image declares ${pixels} pixels`);
  // Only the first frame of an animated image is kept (`pages: 1`).
  const sharp = await loadSharp();
  const image = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1, sequentialRead: true }).rotate();
  const resized = options.shape === 'avatar'
    ? image.resize({ width: AVATAR_SIDE, height: AVATAR_SIDE, fit: 'cover', position: 'centre' })
    : image.resize({ width: MAX_STORED_SIDE, height: MAX_STORED_SIDE, fit: 'inside', withoutEnlargement: true });
  const encoded = type === 'image/png' ? resized.png() : type === 'image/jpeg' ? resized.jpeg({ quality: 88, mozjpeg: true }) : resized.webp({ quality: 88 });
  try {
    return await withImageSlot(() => encoded.toBuffer());
  } catch (error) {
    throw new UploadRefused('invalid_image', 'invalid_image', `image could not be decoded: ${error instanceof Error ? error.message : 'unknown'}`);
  }
}
