// Reading the ZIP archives the data export makes, whole, in tests.
import yauzl from 'yauzl';

/** Every entry of a ZIP archive, as text. */
export async function unzip(archive: Buffer): Promise<Map<string, string>> {
  const entries = await unzipBytes(archive);
  return new Map([...entries].map(([name, bytes]) => [name, bytes.toString('utf8')]));
}

/** Every entry of a ZIP archive, as bytes. */
export async function unzipBytes(archive: Buffer): Promise<Map<string, Buffer>> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.fromBuffer(archive, { lazyEntries: true }, (error, opened) => {
      if (error === null) resolve(opened);
      else reject(error);
    });
  });
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', resolve);
    zip.on('entry', (entry: yauzl.Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error !== null) { reject(error); return; }
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          entries.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  return entries;
}
