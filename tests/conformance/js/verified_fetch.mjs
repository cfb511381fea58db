// Fetch ipfs:// resources with @helia/verified-fetch over an HTTP-only Helia whose only
// trustless gateway is ours (no libp2p, no routers, no other gateway); write each body
// to OUT/<n> and print one JSON line per resource: {resource, status, contentType, bytes}.
// usage: node verified_fetch.mjs GATEWAY_URL OUT_DIR RESOURCE... (a RESOURCE may end
// in ' car' to ask for a CAR)
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const [gateway, out, ...resources] = process.argv.slice(2)

// libp2p uses Promise.withResolvers (Node 22); Debian's Node 20 lacks it
Promise.withResolvers ??= function () {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}
const { createVerifiedFetchWithHelia } = await import('@helia/verified-fetch')
const { createHeliaLight } = await import('helia')
const { withHTTP } = await import('@helia/http')
const { fallbackRouter } = await import('@helia/fallback-router')

// HTTP only (no libp2p, no delegated routing): our gateway is the one provider. Its
// router is a plain one, not a fallback: helia never reaches fallbacks when no plain
// router is configured.
const light = createHeliaLight({})
const ours = fallbackRouter({ gateways: [gateway], shuffle: false })
ours.capabilities = () => []
light.addRouter(ours)
const helia = await withHTTP(light, {
  delegatedRouters: [],
  recursiveGateways: [],
  allowInsecure: true,
  allowLocal: true
}).start()
const fetch = await createVerifiedFetchWithHelia(helia)
try {
  for (const [n, resource] of resources.entries()) {
    // "<resource> car": ask for a CAR (Accept), as a browser app would
    const [url, kind] = resource.split(' ')
    const headers = kind === 'car' ? { accept: 'application/vnd.ipld.car' } : {}
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(60000) })
    const body = new Uint8Array(await response.arrayBuffer())
    await writeFile(join(out, String(n)), body)
    console.log(JSON.stringify({
      resource,
      status: response.status,
      contentType: response.headers.get('content-type'),
      bytes: body.length
    }))
  }
} finally {
  await fetch.stop()
  await helia.stop()
}
