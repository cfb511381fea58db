// The Storacha client's encoding, offline: @storacha/upload-client's UnixFS encoder
// (raw leaves, 1 MiB chunks, balanced width 1024, CIDv1), block de-duplication and CAR
// sharding, composed exactly as its uploadFile() does before anything goes on the wire.
//
// stdin: a JSON list of {path, shardSize?, chunkSize?, width?}
// stdout: a JSON list of {path, root, shards: [{cid, size}], blocks: [cid, ...]}
//   `blocks` is the de-duplicated block order fed to the sharder.
import { openAsBlob } from 'node:fs'
import * as UnixFS from '@ipld/unixfs'
import { withMaxChunkSize } from '@ipld/unixfs/file/chunker/fixed'
import { withWidth } from '@ipld/unixfs/file/layout/balanced'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { CID } from 'multiformats/cid'
import { createFileEncoderStream, encodeFile } from '@storacha/upload-client/unixfs'
import { BlockDeduplicationStream, dedupe } from '@storacha/upload-client/deduplication'
import { ShardingStream, SHARD_SIZE } from '@storacha/upload-client/sharding'
import { isMain, readStdinJson, writeJson } from './io.mjs'

const CAR_CODE = 0x0202

function settingsFor ({ chunkSize, width }) {
  if (chunkSize == null && width == null) return undefined
  return UnixFS.configure({
    fileChunkEncoder: raw,
    smallFileEncoder: raw,
    chunker: withMaxChunkSize(chunkSize ?? 1024 * 1024),
    fileLayout: withWidth(width ?? 1024)
  })
}

/**
 * Shard blocks as uploadFile() and uploadDirectory() do: content of fewer than
 * `shardSize` bytes is encoded whole and written as one CAR of any size; larger content
 * streams through dedupe and ShardingStream. Returns the root, shard CIDs and block order.
 */
export async function shardLikeTheClient (size, shardSize, encodeWhole, encodeStream) {
  let blocks
  let rootCID
  if (size < shardSize) {
    const encoded = await encodeWhole()
    rootCID = encoded.cid
    const list = [...dedupe(encoded.blocks)]
    blocks = new ReadableStream({
      pull (controller) { for (const b of list) controller.enqueue(b); controller.close() }
    })
  } else {
    blocks = encodeStream().pipeThrough(new BlockDeduplicationStream())
  }
  const order = []
  const shards = []
  const sharder = new ShardingStream(rootCID ? { shardSize: Infinity, rootCID } : { shardSize })
  const recorded = blocks.pipeThrough(new TransformStream({
    transform (block, controller) { order.push(block.cid.toString()); controller.enqueue(block) }
  }))
  let root
  await recorded.pipeThrough(sharder).pipeTo(new WritableStream({
    async write (car) {
      const bytes = new Uint8Array(await car.arrayBuffer())
      const cid = CID.createV1(CAR_CODE, await sha256.digest(bytes))
      root = root ?? car.roots[0]
      shards.push({ cid: cid.toString(), size: bytes.length })
    }
  }))
  return { root: root.toString(), shards, blocks: order }
}

/** Encode the file at `path` as @storacha/client's uploadFile() would. */
export async function encodeStorachaFile (path, options) {
  const blob = await openAsBlob(path)
  const settings = settingsFor(options)
  const sharded = await shardLikeTheClient(
    blob.size,
    options.shardSize ?? SHARD_SIZE,
    () => encodeFile(blob, { settings }),
    () => createFileEncoderStream(blob, { settings })
  )
  return { path, ...sharded }
}

if (isMain(import.meta.url)) {
  const jobs = await readStdinJson()
  const results = []
  for (const job of jobs) results.push(await encodeStorachaFile(job.path, job))
  writeJson(results)
}
