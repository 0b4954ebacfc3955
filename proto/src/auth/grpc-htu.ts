/**
 * The DPoP `htu` of a gRPC call: `https://AUTHORITY/package.Service/Method`, whatever the channel's
 * transport security, so that a proof names exactly one method at one coordinator authority.
 */
export function grpcHtu(authority: string, methodPath: string): string {
  return `https://${authority}${methodPath.startsWith('/') ? methodPath : `/${methodPath}`}`;
}
