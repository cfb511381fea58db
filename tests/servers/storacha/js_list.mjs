// List every upload of a space with the official @storacha/client, page by page, and print
// {count, pages, seconds, hwm_kb} (seconds: the listing alone; hwm_kb: peak RSS in KiB).
//
//   node js_list.mjs --url URL --did SERVICE_DID --key Mg... --proof m... [--size 1000]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import * as Client from '@storacha/client'
import { StoreMemory } from '@storacha/client/stores/memory'
import * as Proof from '@storacha/client/proof'
import * as Signer from '@storacha/client/principal/ed25519'
import { connect } from '@ucanto/client'
import { CAR, HTTP } from '@ucanto/transport'
import { DID } from '@ucanto/core'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    did: { type: 'string' },
    key: { type: 'string' },
    proof: { type: 'string' },
    size: { type: 'string', default: '1000' },
  },
})
const connection = connect({
  id: DID.parse(values.did),
  codec: CAR.outbound,
  channel: HTTP.open({ url: new URL(values.url), method: 'POST' }),
})
const client = await Client.create({
  principal: Signer.parse(values.key),
  store: new StoreMemory(),
  serviceConf: { access: connection, upload: connection, filecoin: connection, gateway: connection },
  receiptsEndpoint: new URL('/receipt/', values.url),
})
const space = await client.addSpace(await Proof.parse(values.proof))
await client.setCurrentSpace(space.did())

const size = Number(values.size)
const started = performance.now()
let count = 0
let pages = 0
let cursor
for (;;) {
  const page = await client.capability.upload.list({ cursor, size })
  pages += 1
  count += page.results.length
  if (page.results.length < size || !page.cursor) break
  cursor = page.cursor
}
const seconds = (performance.now() - started) / 1000
const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))
console.log(JSON.stringify({ count, pages, seconds, hwm_kb: hwm ? Number(hwm[1]) : null }))
