/*
 * nfs-fuse: a small NFSv3 client mounted through FUSE, for the network-filesystem suites.
 *
 *   nfs-fuse nfs://127.0.0.1/<export-path>?version=3[&nfsport=N&mountport=M] MOUNTPOINT [FUSE options]
 *
 * This machine's kernel has no NFS client and Debian ships no FUSE NFS client, so the suites reach a
 * real NFS server (nfs-ganesha) through this one: libnfs's SYNCHRONOUS API over FUSE 3's high-level
 * API. It is single-threaded (fuse is always run with -s): one libnfs context is never used by two
 * threads. Every call goes to the server; the only caching is the kernel's, bounded by FUSE's
 * timeouts, set near a Linux NFS client's defaults:
 *   attr_timeout=3      attributes are trusted for 3 s (acregmin, actimeo-style), so another
 *                       client's change of a file's size is seen up to 3 s late
 *   entry_timeout=3     a name's lookup is trusted for 3 s; the data is always the server's (every
 *                       call goes by path), but this is no close-to-open: the kernel's client
 *                       refreshes the attributes at each open, this one only when they expire
 *   negative_timeout=0  a name found absent is asked again next time: the kernel's client keeps
 *                       negative dentries, but drops them when the directory's change attribute,
 *                       which every LOOKUP reply brings, changes; a fixed timeout cannot do that
 * Change them with -o attr_timeout=S,entry_timeout=S,negative_timeout=S (0 turns a cache off).
 * An RPC unanswered for -o timeo=MS (default 2000) is sent again (see RETRANSMITTING).
 *
 * Create with O_EXCL is passed through to the server (libnfs sends an NFSv3 EXCLUSIVE CREATE), and
 * rename and link are the server's own RENAME and LINK, so their atomicity is the server's.
 *
 * Build: gcc -O2 -Wall -o nfs-fuse nfs-fuse.c $(pkg-config --cflags --libs libnfs fuse3)
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <nfsc/libnfs.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

/* The one libnfs context, connected and mounted before fuse starts. */
static struct nfs_context *nfs;

/* Command-line options: the cache timeouts, in seconds. */
struct options {
  double attr_timeout;
  double entry_timeout;
  double negative_timeout;
  int timeo_ms; /* how long an RPC may go unanswered before it is sent again */
};
static struct options options = {
    .attr_timeout = 3.0, .entry_timeout = 3.0, .negative_timeout = 0.0, .timeo_ms = 2000};

#define OPTION(name, field) {name, offsetof(struct options, field), 0}
static const struct fuse_opt option_spec[] = {
    OPTION("attr_timeout=%lf", attr_timeout),
    OPTION("entry_timeout=%lf", entry_timeout),
    OPTION("negative_timeout=%lf", negative_timeout),
    OPTION("timeo=%d", timeo_ms),
    FUSE_OPT_END,
};

/*
 * RPC timeouts. ganesha drops some requests without answering them (a READ racing with another
 * client's replacement of the file was seen to), and a kernel client on a hard mount sends such a
 * request again after its timeout (timeo). libnfs does not, and reports the timeout as -EINTR,
 * so every call here is made through RETRANSMITTING, which sends it again, up to
 * MAX_TRANSMISSIONS times in all, then answers EIO. A CREATE, REMOVE, RENAME or LINK sent again
 * may answer EEXIST or ENOENT although the first one was carried out, as on a real NFS mount.
 */
#define MAX_TRANSMISSIONS 10

/* Notes a retransmission on stderr (the client's log). */
static void note_retransmission(const char *call, int transmission) {
  fprintf(stderr, "nfs-fuse: %s timed out (%s); transmission %d\n", call, nfs_get_error(nfs),
          transmission + 1);
}

#define RETRANSMITTING(call)                                                  \
  ({                                                                         \
    int rc_ = (call);                                                        \
    for (int sent_ = 1; rc_ == -EINTR && sent_ < MAX_TRANSMISSIONS; sent_++) { \
      note_retransmission(#call, sent_);                                     \
      rc_ = (call);                                                          \
    }                                                                        \
    rc_ == -EINTR ? -EIO : rc_;                                              \
  })

/* The open libnfs file handle that FUSE keeps for an open file. */
static struct nfsfh *handle_of(const struct fuse_file_info *fi) {
  return (struct nfsfh *)(uintptr_t)fi->fh;
}

/* libnfs returns 0 or -errno, which is what FUSE wants; anything else negative becomes EIO. */
static int fuse_status(int rc) {
  if (rc >= 0) return rc;
  return rc < -4095 ? -EIO : rc;
}

/*
 * The status of a read or write on FH. libnfs 4.0 reports any NFS error in a READ or WRITE reply (a
 * stale file handle, typically, when another client replaced the file) as -EFAULT, and its message
 * does not keep the server's status; a GETATTR of the same handle gets it again (ESTALE, as from
 * the kernel's NFS client); if that succeeds, the error was the transport's: EIO.
 */
static int io_status(int rc, struct nfsfh *fh) {
  if (rc != -EFAULT) return fuse_status(rc);
  struct nfs_stat_64 s;
  int again = RETRANSMITTING(nfs_fstat64(nfs, fh, &s));
  return again < 0 ? fuse_status(again) : -EIO;
}

/* Copies libnfs's stat into the kernel's. */
static void copy_stat(const struct nfs_stat_64 *from, struct stat *to) {
  memset(to, 0, sizeof(*to));
  to->st_dev = from->nfs_dev;
  to->st_ino = from->nfs_ino;
  to->st_mode = from->nfs_mode;
  to->st_nlink = from->nfs_nlink;
  to->st_uid = from->nfs_uid;
  to->st_gid = from->nfs_gid;
  to->st_rdev = from->nfs_rdev;
  to->st_size = from->nfs_size;
  to->st_blksize = from->nfs_blksize;
  to->st_blocks = from->nfs_blocks;
  to->st_atim.tv_sec = from->nfs_atime;
  to->st_atim.tv_nsec = from->nfs_atime_nsec;
  to->st_mtim.tv_sec = from->nfs_mtime;
  to->st_mtim.tv_nsec = from->nfs_mtime_nsec;
  to->st_ctim.tv_sec = from->nfs_ctime;
  to->st_ctim.tv_nsec = from->nfs_ctime_nsec;
}

/* The flags libnfs understands for open; the others (O_LARGEFILE, O_NOCTTY, ...) are the kernel's. */
static int open_flags(int flags) {
  return flags & (O_ACCMODE | O_APPEND | O_SYNC | O_TRUNC | O_CREAT | O_EXCL | O_NOFOLLOW);
}

/* The kernel caches attributes and names like an NFS client (see the timeouts at the top). */
static void *nfs_fuse_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->attr_timeout = options.attr_timeout;
  cfg->entry_timeout = options.entry_timeout;
  cfg->negative_timeout = options.negative_timeout;
  cfg->use_ino = 1; /* the server's file ids, the same on every mount */
  return NULL;
}

static int nfs_fuse_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  struct nfs_stat_64 s;
  int rc = fi ? RETRANSMITTING(nfs_fstat64(nfs, handle_of(fi), &s)) : RETRANSMITTING(nfs_lstat64(nfs, path, &s));
  if (rc == 0) copy_stat(&s, st);
  return fuse_status(rc);
}

static int nfs_fuse_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                            struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)offset;
  (void)fi;
  (void)flags;
  struct nfsdir *dir;
  int rc = RETRANSMITTING(nfs_opendir(nfs, path, &dir));
  if (rc < 0) return fuse_status(rc);
  struct nfsdirent *entry;
  while ((entry = nfs_readdir(nfs, dir)) != NULL) {
    if (fill(buf, entry->name, NULL, 0, 0)) break;
  }
  nfs_closedir(nfs, dir);
  return 0;
}

static int nfs_fuse_open(const char *path, struct fuse_file_info *fi) {
  struct nfsfh *fh;
  int rc = RETRANSMITTING(nfs_open(nfs, path, open_flags(fi->flags), &fh));
  if (rc == 0) fi->fh = (uint64_t)(uintptr_t)fh;
  return fuse_status(rc);
}

/* O_CREAT reaches here; with O_EXCL libnfs sends an NFSv3 EXCLUSIVE CREATE, so the server decides. */
static int nfs_fuse_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
  struct nfsfh *fh;
  int rc = RETRANSMITTING(nfs_create(nfs, path, open_flags(fi->flags) | O_CREAT, mode & 07777, &fh));
  if (rc == 0) fi->fh = (uint64_t)(uintptr_t)fh;
  return fuse_status(rc);
}

/* Reads until SIZE bytes or the end of the file (libnfs may answer a large read in parts). */
static int nfs_fuse_read(const char *path, char *buf, size_t size, off_t offset,
                         struct fuse_file_info *fi) {
  (void)path;
  size_t done = 0;
  while (done < size) {
    int rc = RETRANSMITTING(nfs_pread(nfs, handle_of(fi), offset + done, size - done, buf + done));
    if (rc < 0) return io_status(rc, handle_of(fi));
    if (rc == 0) break;
    done += rc;
  }
  return done;
}

/* Writes all of BUF; with O_APPEND libnfs writes at the server's end of file, as the kernel's client. */
static int nfs_fuse_write(const char *path, const char *buf, size_t size, off_t offset,
                          struct fuse_file_info *fi) {
  (void)path;
  size_t done = 0;
  while (done < size) {
    int rc = (fi->flags & O_APPEND)
                 ? RETRANSMITTING(nfs_write(nfs, handle_of(fi), size - done, buf + done))
                 : RETRANSMITTING(nfs_pwrite(nfs, handle_of(fi), offset + done, size - done, buf + done));
    if (rc < 0) return io_status(rc, handle_of(fi));
    if (rc == 0) return -EIO;
    done += rc;
  }
  return done;
}

static int nfs_fuse_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  return fuse_status(fi ? RETRANSMITTING(nfs_ftruncate(nfs, handle_of(fi), size)) : RETRANSMITTING(nfs_truncate(nfs, path, size)));
}

/* fsync and fdatasync are both an NFSv3 COMMIT. */
static int nfs_fuse_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
  (void)path;
  (void)datasync;
  return fuse_status(RETRANSMITTING(nfs_fsync(nfs, handle_of(fi))));
}

static int nfs_fuse_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  nfs_close(nfs, handle_of(fi));
  return 0;
}

/* rename(2) only: RENAME_NOREPLACE and RENAME_EXCHANGE have no NFSv3 equivalent. */
static int nfs_fuse_rename(const char *from, const char *to, unsigned int flags) {
  if (flags) return -EINVAL;
  return fuse_status(RETRANSMITTING(nfs_rename(nfs, from, to)));
}

static int nfs_fuse_link(const char *from, const char *to) {
  return fuse_status(RETRANSMITTING(nfs_link(nfs, from, to)));
}

static int nfs_fuse_unlink(const char *path) { return fuse_status(RETRANSMITTING(nfs_unlink(nfs, path))); }

static int nfs_fuse_mkdir(const char *path, mode_t mode) {
  return fuse_status(RETRANSMITTING(nfs_mkdir2(nfs, path, mode & 07777)));
}

static int nfs_fuse_rmdir(const char *path) { return fuse_status(RETRANSMITTING(nfs_rmdir(nfs, path))); }

static int nfs_fuse_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
  (void)fi;
  return fuse_status(RETRANSMITTING(nfs_chmod(nfs, path, mode & 07777)));
}

static int nfs_fuse_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  (void)fi;
  struct nfs_stat_64 s;
  if (uid == (uid_t)-1 || gid == (gid_t)-1) { /* keep what is not changed */
    int rc = RETRANSMITTING(nfs_lstat64(nfs, path, &s));
    if (rc < 0) return fuse_status(rc);
    if (uid == (uid_t)-1) uid = s.nfs_uid;
    if (gid == (gid_t)-1) gid = s.nfs_gid;
  }
  return fuse_status(RETRANSMITTING(nfs_chown(nfs, path, uid, gid)));
}

/* One timestamp of utimensat(2) as a timeval: UTIME_NOW is now, UTIME_OMIT keeps CURRENT. */
static struct timeval timeval_of(const struct timespec *ts, uint64_t current_s, uint64_t current_ns) {
  struct timeval tv;
  if (ts->tv_nsec == UTIME_NOW) {
    gettimeofday(&tv, NULL);
  } else if (ts->tv_nsec == UTIME_OMIT) {
    tv.tv_sec = current_s;
    tv.tv_usec = current_ns / 1000;
  } else {
    tv.tv_sec = ts->tv_sec;
    tv.tv_usec = ts->tv_nsec / 1000;
  }
  return tv;
}

static int nfs_fuse_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi) {
  (void)fi;
  struct nfs_stat_64 s = {0};
  if (ts == NULL) return fuse_status(RETRANSMITTING(nfs_utimes(nfs, path, NULL)));
  if (ts[0].tv_nsec == UTIME_OMIT || ts[1].tv_nsec == UTIME_OMIT) {
    int rc = RETRANSMITTING(nfs_stat64(nfs, path, &s));
    if (rc < 0) return fuse_status(rc);
  }
  struct timeval times[2] = {
      timeval_of(&ts[0], s.nfs_atime, s.nfs_atime_nsec),
      timeval_of(&ts[1], s.nfs_mtime, s.nfs_mtime_nsec),
  };
  return fuse_status(RETRANSMITTING(nfs_utimes(nfs, path, times)));
}

static int nfs_fuse_statfs(const char *path, struct statvfs *st) {
  struct nfs_statvfs_64 s;
  int rc = RETRANSMITTING(nfs_statvfs64(nfs, path, &s));
  if (rc < 0) return fuse_status(rc);
  memset(st, 0, sizeof(*st));
  st->f_bsize = s.f_bsize;
  st->f_frsize = s.f_frsize;
  st->f_blocks = s.f_blocks;
  st->f_bfree = s.f_bfree;
  st->f_bavail = s.f_bavail;
  st->f_files = s.f_files;
  st->f_ffree = s.f_ffree;
  st->f_favail = s.f_favail;
  st->f_fsid = s.f_fsid;
  st->f_flag = s.f_flag;
  st->f_namemax = s.f_namemax;
  return 0;
}

static const struct fuse_operations operations = {
    .init = nfs_fuse_init,
    .getattr = nfs_fuse_getattr,
    .readdir = nfs_fuse_readdir,
    .open = nfs_fuse_open,
    .create = nfs_fuse_create,
    .read = nfs_fuse_read,
    .write = nfs_fuse_write,
    .truncate = nfs_fuse_truncate,
    .fsync = nfs_fuse_fsync,
    .release = nfs_fuse_release,
    .rename = nfs_fuse_rename,
    .link = nfs_fuse_link,
    .unlink = nfs_fuse_unlink,
    .mkdir = nfs_fuse_mkdir,
    .rmdir = nfs_fuse_rmdir,
    .chmod = nfs_fuse_chmod,
    .chown = nfs_fuse_chown,
    .utimens = nfs_fuse_utimens,
    .statfs = nfs_fuse_statfs,
};

/* Connects to the server and mounts the export named by URL; prints why not and returns -1. */
static int connect_export(const char *url_text) {
  nfs = nfs_init_context();
  if (nfs == NULL) {
    fprintf(stderr, "nfs-fuse: cannot create an NFS context\n");
    return -1;
  }
  /* The kernel's caches (the FUSE timeouts) are the only ones: no directory cache in libnfs. */
  nfs_set_dircache(nfs, 0);
  nfs_set_timeout(nfs, options.timeo_ms);
  struct nfs_url *url = nfs_parse_url_dir(nfs, url_text);
  if (url == NULL) {
    fprintf(stderr, "nfs-fuse: bad URL %s: %s\n", url_text, nfs_get_error(nfs));
    return -1;
  }
  int rc = nfs_mount(nfs, url->server, url->path);
  if (rc < 0) fprintf(stderr, "nfs-fuse: cannot mount %s: %s\n", url_text, nfs_get_error(nfs));
  nfs_destroy_url(url);
  return rc < 0 ? -1 : 0;
}

int main(int argc, char *argv[]) {
  if (argc < 3 || strncmp(argv[1], "nfs://", 6) != 0) {
    fprintf(stderr, "usage: %s nfs://SERVER/EXPORT?version=3 MOUNTPOINT [FUSE options]\n", argv[0]);
    return 2;
  }
  /* FUSE sees the mountpoint and options, and always -s: one thread, one libnfs context. */
  struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
  fuse_opt_add_arg(&args, argv[0]);
  for (int i = 2; i < argc; i++) fuse_opt_add_arg(&args, argv[i]);
  fuse_opt_add_arg(&args, "-s");
  if (fuse_opt_parse(&args, &options, option_spec, NULL) == -1) return 2;
  if (connect_export(argv[1]) < 0) return 1;

  int status = fuse_main(args.argc, args.argv, &operations, NULL);
  fuse_opt_free_args(&args);
  nfs_destroy_context(nfs);
  return status;
}
