import { statfsSync } from 'node:fs';

/** `statfs` type numbers of network and user-space (FUSE) file systems on Linux. */
const REMOTE_TYPES = new Set([
  0x6969, // NFS
  0x517b, // SMB
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x65735546, // FUSE
  0x00c36400, // Ceph
  0x5346414f, // AFS
  0x01021997, // 9P
  0x0bd00bd0, // Lustre
  0x01161970, // GFS2
  0x7461636f, // OCFS2
  0x47504653, // GPFS
]);

/** Whether `directory` is on a network or FUSE file system (as far as `statfs` tells; `false` if unknown). */
export function isRemoteFileSystem(directory: string): boolean {
  try {
    return REMOTE_TYPES.has(statfsSync(directory).type);
  } catch {
    return false;
  }
}
