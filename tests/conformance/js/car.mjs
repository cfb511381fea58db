// CARv1 with @ipld/car: write a CAR from given blocks and roots, or read one back.
//
// stdin: a JSON list of operations
//   {op: "write", out, roots: [cid], blocks: [[cid, base64 bytes], ...]} -> {out, size}
//   {op: "read", path} -> {roots: [cid], blocks: [[cid, sha256 ok?, length], ...]}
// stdout: a JSON list of results, in order.
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { CarBlockIterator, CarWriter } from '@ipld/car'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'
import { readStdinJson, writeJson } from './io.mjs'

async function writeCar ({ out, roots, blocks }) {
  const { writer, out: stream } = CarWriter.create(roots.map((r) => CID.parse(r)))
  const chunks = []
  const collected = (async () => { for await (const c of stream) chunks.push(c) })()
  for (const [cid, data] of blocks) {
    await writer.put({ cid: CID.parse(cid), bytes: Buffer.from(data, 'base64') })
  }
  await writer.close()
  await collected
  const bytes = Buffer.concat(chunks)
  await writeFile(out, bytes)
  return { out, size: bytes.length }
}

async function readCar ({ path }) {
  const reader = await CarBlockIterator.fromIterable(createReadStream(path))
  const roots = (await reader.getRoots()).map((r) => r.toString())
  const blocks = []
  for await (const { cid, bytes } of reader) {
    const ok = cid.multihash.code === sha256.code &&
      equals((await sha256.digest(bytes)).digest, cid.multihash.digest)
    blocks.push([cid.toString(), ok, bytes.length])
  }
  return { roots, blocks }
}

const ops = { write: writeCar, read: readCar }
const results = []
for (const job of await readStdinJson()) {
  const op = ops[job.op]
  if (op == null) throw new Error(`unknown op ${JSON.stringify(job.op)}`)
  results.push(await op(job))
}
writeJson(results)
