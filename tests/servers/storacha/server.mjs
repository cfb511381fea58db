// A local Storacha (w3up) service for tests: @storacha/upload-api's own test context
// (in-memory stores, indexing service, three HTTP storage nodes) behind node:http.
//
//   node server.mjs [--port N]      (default: a free port; everything on 127.0.0.1)
//
// Prints {url, did, didKey, storageNodes} as one JSON line to stdout and to $INFO_FILE.
// Routes: POST / (ucanto), GET /receipt/{task}, GET /version, GET /.well-known/did.json,
// GET /ipfs/{cid}?format=car|raw (trustless retrieval), and test-only helpers
// POST /test/provision {space, account}, GET /test/blob/{base58btc multihash}.
import http from 'node:http'
import { writeFileSync } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import * as Context from '@storacha/upload-api/test/context'
import { Message, parseLink } from '@ucanto/core'
import { CAR as UcantoCAR } from '@ucanto/transport'
import { CarIndexer, CarWriter } from '@ipld/car'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import * as dagPB from '@ipld/dag-pb'
import * as dagCBOR from '@ipld/dag-cbor'
import * as raw from 'multiformats/codecs/raw'

const LOOPBACK = '127.0.0.1'
const CODECS = { [dagPB.code]: dagPB, [dagCBOR.code]: dagCBOR, [raw.code]: raw }

// Every server the test context starts (storage nodes, indexing/claims services, buckets)
// calls `http.createServer(handler).listen(cb)`: a random port on all interfaces, with
// node's default timeouts. This http module keeps them on loopback, lifts the limits that
// broke large uploads (see `relaxLimits`), and answers a PUT without content-length with
// 411 as S3 does (the storage node sizes its buffer from that header and would fail).
// Each answer says `connection: close` (see below). The storage node also calls
// `response.destroy()` right after `response.end(blob)`, which
// cut every GET of a blob over a few MB short ("other side closed" after ~4 MB): here a
// destroy after end waits until the body has been handed to the socket.
const loopbackHttp = {
  ...http,
  createServer: (handler) => {
    const server = relaxLimits(http.createServer((req, res) => {
      if (req.method === 'PUT' && req.headers['content-length'] === undefined) {
        return send(res, 411, 'content-length required\n')
      }
      // every answer closes its connection: the storage node destroys its socket after
      // each answer, and a pooled keep-alive socket that a client (the upload-api's own
      // fetch of an index blob in space/index/add) takes before the close is seen fails
      // with "fetch failed" (seen under load with two writers of one CID)
      res.setHeader('connection', 'close')
      const destroy = res.destroy.bind(res)
      res.destroy = (err) => {
        if (err || !res.writableEnded || res.writableFinished) return destroy(err)
        res.once('finish', () => destroy())
        return res
      }
      return handler(req, res)
    }))
    const listen = server.listen.bind(server)
    server.listen = (...a) => (typeof a[0] === 'function' ? listen(0, LOOPBACK, a[0]) : listen(...a))
    return server
  },
}

// Large uploads from @storacha/client used to fail with "fetch failed: other side closed".
// The cause is keep-alive, not the PUT: the client blocks its event loop for seconds while
// it computes the piece CID (~4 MB/s), node:http closes the idle keep-alive socket after
// keepAliveTimeout (5 s), and the client, not having seen the FIN, reuses that socket for
// its next request (filecoin/offer) and gets the close. Idle sockets now stay open. The
// request and headers timeouts (300 s, 60 s) go too, so a slow or stalled uploader never
// gets a half-read body cut off: the tests bound their own time.
function relaxLimits (server) {
  server.requestTimeout = 0
  server.headersTimeout = 0
  server.keepAliveTimeout = 0
  server.timeout = 0
  return server
}

// The test context signs its indexing-service and claims-service proofs with dag-ucan's
// default 30 s lifetime, so after 30 s `space/index/add` fails with "Proof ... has expired".
// Creating the context while the clock reads 50 years ahead makes those proofs long-lived.
async function createContext () {
  const realNow = Date.now
  Date.now = () => realNow() + 50 * 365 * 24 * 3600e3
  try {
    return await Context.createContext({
      http: loopbackHttp, requirePaymentPlan: false, assert: { fail: (e) => console.error(e) },
    })
  } finally {
    Date.now = realNow
  }
}

const mailtoDid = (email) => {
  const [local, domain] = email.split('@')
  return `did:mailto:${encodeURIComponent(domain)}:${encodeURIComponent(local)}`
}

// Confirm every login e-mail as if the user clicked its link, and give the account a plan
// so `plan/get` (which the CLI waits on after login) answers.
function autoConfirmMail (context) {
  context.mail.sendValidation = async (email) => {
    setImmediate(async () => {
      try {
        await context.grantAccess(email)
        await context.plansStorage.initialize(mailtoDid(email.to), 'test', context.id.did())
      } catch (err) {
        console.error('auto-confirm failed', err)
      }
    })
  }
}

const readBody = async (req) => {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

const send = (res, status, body, headers = {}) => {
  res.writeHead(status, headers)
  res.end(body)
}
const sendJSON = (res, status, value) =>
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json' })

// --- blobs and trustless retrieval ---------------------------------------------------

// The storage-node URL of a blob, from its location commitment (as the upload-api's own
// BlobRetriever finds it; node:http instead of fetch reads a shard ~20x faster).
async function locateBlob (context, digest) {
  const query = await context.indexingService.queryClaims({ hashes: [digest] })
  for (const [, claim] of query.ok?.claims ?? []) {
    if (claim.type === 'assert/location') return claim.location[0]
  }
  const read = await context.claimsService.read(digest)
  for (const claim of read.ok ?? []) {
    if (claim.type === 'assert/location') return claim.location[0]
  }
  return undefined
}

// A fresh connection each time: the storage node closes its socket after every answer,
// so a pooled keep-alive socket (Node 20's default agent) may already be dead.
const httpGet = (url) =>
  new Promise((resolve, reject) => http.get(url, { agent: false }, resolve).on('error', reject))

// Where each block lives: base58btc multihash -> {shard digest, offset, length} of its
// bytes. Filled on demand by indexing the shards of uploads from the upload table.
class BlockLocator {
  constructor (context) {
    this.context = context
    this.blocks = new Map()
    this.indexedShards = new Set()
    this.cached = { key: '', bytes: new Uint8Array() } // the last shard read
  }

  async readShard (digest) {
    const key = base58btc.encode(digest.bytes)
    if (this.cached.key === key) return this.cached.bytes
    const url = await locateBlob(this.context, digest)
    const response = url && await httpGet(url)
    if (!response || response.statusCode !== 200) return undefined
    const bytes = new Uint8Array(Buffer.concat(await response.toArray()))
    this.cached = { key, bytes }
    return bytes
  }

  async indexShard (shard) {
    const key = base58btc.encode(shard.multihash.bytes)
    if (this.indexedShards.has(key)) return
    const bytes = await this.readShard(shard.multihash)
    if (!bytes) return
    for await (const { cid, blockOffset, blockLength } of await CarIndexer.fromBytes(bytes)) {
      this.blocks.set(base58btc.encode(cid.multihash.bytes), {
        shard: shard.multihash, offset: blockOffset, length: blockLength,
      })
    }
    this.indexedShards.add(key)
  }

  // Shards to index, one at a time, until the block turns up. An upload's root block is
  // written last, so its shards are tried last-first; a DAG walk then indexes the others
  // in order as it reaches them, and reads each shard about once.
  * candidateShards (cid) {
    const items = this.context.uploadTable.items
    for (const item of items) if (item.root.equals(cid)) yield * [...(item.shards ?? [])].reverse()
    for (const item of items) yield * item.shards ?? []
  }

  /** The block bytes for `cid`, verified against it, or undefined. */
  async get (cid) {
    const key = base58btc.encode(cid.multihash.bytes)
    for (const shard of this.candidateShards(cid)) {
      if (this.blocks.has(key)) break
      await this.indexShard(shard) // a no-op for shards already indexed
    }
    const where = this.blocks.get(key)
    if (!where) return undefined
    const shard = await this.readShard(where.shard)
    const bytes = shard?.subarray(where.offset, where.offset + where.length)
    if (!bytes || cid.multihash.code !== sha256.code) return bytes
    const digest = await sha256.digest(bytes)
    return Buffer.compare(digest.bytes, cid.multihash.bytes) === 0 ? bytes : undefined
  }
}

// Blocks of the DAG under `root` in depth-first order; throws if one is missing.
async function * walkDag (locator, root) {
  const stack = [root]
  while (stack.length) {
    const cid = stack.pop()
    const bytes = await locator.get(cid)
    if (!bytes) throw new Error(`missing block ${cid}`)
    yield { cid, bytes }
    const codec = CODECS[cid.code]
    if (codec && codec !== raw) {
      const links = [...linksOf(codec.decode(bytes))]
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i])
    }
  }
}

function * linksOf (value) {
  const asCid = CID.asCID(value)
  if (asCid) return yield asCid
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return
  for (const v of Array.isArray(value) ? value : Object.values(value)) yield * linksOf(v)
}

async function serveIpfs (locator, req, res, url) {
  const [text, ...rest] = url.pathname.slice('/ipfs/'.length).split('/')
  if (rest.some(Boolean)) return send(res, 400, 'paths under a CID are not supported\n')
  let cid
  try {
    cid = CID.parse(text)
  } catch {
    return send(res, 400, 'invalid CID\n')
  }
  const accept = req.headers.accept ?? ''
  const format = url.searchParams.get('format') ??
    ['car', 'raw'].find((f) => accept.includes(`application/vnd.ipld.${f}`))
  const rootBytes = await locator.get(cid)
  if (!rootBytes) return send(res, 404, `not found: ${cid}\n`)
  if (format === 'raw') {
    return send(res, 200, rootBytes, { 'content-type': 'application/vnd.ipld.raw' })
  }
  if (format !== 'car') return send(res, 400, 'use ?format=car or ?format=raw\n')
  res.writeHead(200, { 'content-type': 'application/vnd.ipld.car; version=1; order=dfs; dups=y' })
  const { writer, out } = CarWriter.create([cid])
  const pump = (async () => {
    for await (const chunk of out) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
    }
  })()
  try {
    for await (const block of walkDag(locator, cid)) await writer.put(block)
  } catch (err) {
    // The 200 is out: cut the chunked body off, so no client takes a short CAR for whole.
    console.error(err)
    return res.destroy()
  }
  await writer.close()
  await pump
  res.end()
}

// Like provider/add, but without the account's proofs: a space gets one provider and
// customer; repeating the same provision is a no-op. Returns an error or undefined.
async function provision (context, provider, space, account) {
  const existing = await context.provisionsStorage.getConsumer(provider, space)
  if (existing.ok && existing.ok.customer !== account) {
    return { name: 'ConsumerExists', message: `${space} is provisioned for ${existing.ok.customer}` }
  }
  if (!existing.ok) {
    const seed = new TextEncoder().encode(`${space}:${account}`)
    const cause = CID.createV1(raw.code, await sha256.digest(seed))
    const put = await context.provisionsStorage.put({ provider, customer: account, consumer: space, cause })
    if (put.error) return put.error
  }
  await context.plansStorage.initialize(account, 'test', provider) // CustomerExists is fine
}

// --- the service --------------------------------------------------------------------

async function route (context, locator, info, req, res) {
  const url = new URL(req.url ?? '/', info.url)
  const path = url.pathname
  if (req.method === 'POST' && (path === '/' || path === '/ucan')) {
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
    const out = await context.connection.channel.request({ headers, body: await readBody(req) })
    return send(res, out.status ?? 200, out.body, out.headers)
  }
  if (req.method === 'GET' && path.startsWith('/receipt/')) {
    const found = await context.agentStore.receipts.get(parseLink(path.slice('/receipt/'.length)))
    if (found.error) return send(res, 404, 'receipt not found\n')
    const message = await Message.build({ receipts: [found.ok] })
    const { body, headers } = UcantoCAR.request.encode(message)
    return send(res, 200, body, headers)
  }
  if (req.method === 'GET' && path === '/version') {
    const { did, didKey: publicKey } = info
    return sendJSON(res, 200, { name: 'ipfs-kit-storacha-test-service', version: '2.8.4', did, publicKey })
  }
  if (req.method === 'GET' && path === '/.well-known/did.json') {
    const key = `${info.did}#key`
    return sendJSON(res, 200, {
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: info.did,
      verificationMethod: [{
        id: key, type: 'Ed25519VerificationKey2020', controller: info.did,
        publicKeyMultibase: info.didKey.slice('did:key:'.length),
      }],
      assertionMethod: [key],
      authentication: [key],
    })
  }
  if (req.method === 'GET' && path.startsWith('/ipfs/')) return serveIpfs(locator, req, res, url)
  if (req.method === 'POST' && path === '/test/provision') {
    const { space, account } = JSON.parse(new TextDecoder().decode(await readBody(req)))
    const failed = await provision(context, info.did, space, account)
    return failed ? sendJSON(res, 409, failed) : sendJSON(res, 200, { space, account, provider: info.did })
  }
  if (req.method === 'GET' && path.startsWith('/test/blob/')) {
    const key = path.slice('/test/blob/'.length) // with the multibase 'z' (as the nodes) or not
    let digest
    try {
      digest = Digest.decode(key.startsWith('z') ? base58btc.decode(key) : base58btc.baseDecode(key))
    } catch {
      return send(res, 400, 'expected a base58btc multihash\n')
    }
    const url = await locateBlob(context, digest)
    const blob = url && await httpGet(url)
    if (!blob || blob.statusCode !== 200) return send(res, 404, 'blob not found\n')
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    return pipeline(blob, res)
  }
  return send(res, 404, 'not found\n')
}

async function main () {
  const { values } = parseArgs({ options: { port: { type: 'string', default: process.env.PORT ?? '0' } } })
  const context = await createContext()
  autoConfirmMail(context)
  const locator = new BlockLocator(context)
  const info = { url: '', did: context.id.did(), didKey: context.id.toDIDKey(), storageNodes: [] }
  const server = relaxLimits(http.createServer((req, res) => {
    route(context, locator, info, req, res).catch((err) => {
      console.error(err)
      if (!res.headersSent) send(res, 500, `${err?.message ?? err}\n`)
      else res.destroy()
    })
  }))
  await new Promise((resolve) => server.listen(Number(values.port), LOOPBACK, resolve))
  info.url = `http://${LOOPBACK}:${server.address().port}`
  info.storageNodes = context.storageProviders.map((p) => `http://${LOOPBACK}:${p.server.address().port}`)
  const line = JSON.stringify(info)
  if (process.env.INFO_FILE) writeFileSync(process.env.INFO_FILE, line + '\n')
  console.log(line)
  // Everything lives in memory: nothing to flush, so stop at once.
  process.on('SIGTERM', () => process.exit(0))
  process.on('SIGINT', () => process.exit(0))
}

await main()
