/* live.c - pieces of the attach protocol both sides use: control message
 * framing and the socket directory rules (live.h).
 *
 * The socket directory is what keeps other users out: a Unix socket in a
 * directory only its owner can enter cannot be connected to by anyone else
 * (root aside).  So a directory is trusted only after lstat() says it is a
 * real directory, owned by us, mode 0700; a symlink planted in /tmp, or a
 * directory someone else made first, is refused with a message rather than
 * used or "fixed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "live.h"

size_t ravt_ctl_encode(void *out, uint16_t type, const void *payload, uint32_t len)
{
	ravt_ctl h = {RAVT_CTL_MAGIC, type, 0, len, 0};
	uint32_t crc = ravt_crc32c(0, &h, 12);
	if (len)
		crc = ravt_crc32c(crc, payload, len);
	h.crc = crc;
	memcpy(out, &h, sizeof h);
	if (len)
		memcpy((uint8_t *)out + sizeof h, payload, len);
	return sizeof h + len;
}

int ravt_ctl_parse(const uint8_t *buf, size_t n, ravt_ctl *hdr, const uint8_t **payload, size_t *used,
                   const char **why)
{
	ravt_ctl h;
	if (n < 4) {
		/* a partial magic must still match what arrived */
		static const uint32_t magic = RAVT_CTL_MAGIC;
		if (memcmp(buf, &magic, n) != 0) {
			*why = "not a control message (bad magic)";
			return -1;
		}
		return 0;
	}
	memcpy(&h, buf, n < sizeof h ? n : sizeof h);
	if (h.magic != RAVT_CTL_MAGIC) {
		*why = "not a control message (bad magic)";
		return -1;
	}
	if (n < sizeof h)
		return 0;
	if (h.flags) {
		*why = "unknown flags in a control message";
		return -1;
	}
	if (h.len > RAVT_CTL_MAX) {
		*why = "control message longer than 1024 bytes";
		return -1;
	}
	if (n < sizeof h + h.len)
		return 0;
	uint32_t crc = ravt_crc32c(0, buf, 12);
	if (h.len)
		crc = ravt_crc32c(crc, buf + sizeof h, h.len);
	if (crc != h.crc) {
		*why = "control message checksum mismatch";
		return -1;
	}
	*hdr = h;
	*payload = buf + sizeof h;
	*used = sizeof h + h.len;
	return 1;
}

/* A directory we may keep sockets in. */
static int check_dir(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		snprintf(err, errlen, "cannot use %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "refusing %s: it is a symbolic link", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "refusing %s: not a directory", path);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "refusing %s: owned by uid %u, not by uid %u", path,
		         (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((st.st_mode & 07777) != 0700) {
		snprintf(err, errlen, "refusing %s: mode %04o, not 0700", path,
		         (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int make_dir(const char *path, bool create, char *err, size_t errlen)
{
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return check_dir(path, err, errlen);
}

/* $XDG_RUNTIME_DIR/ravioli if the runtime directory is usable. */
static bool xdg_dir(char *out, size_t cap)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (!x || x[0] != '/')
		return false;
	struct stat st;
	if (lstat(x, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return false;
	int n = snprintf(out, cap, "%s/ravioli", x);
	return n > 0 && (size_t)n < cap;
}

int ravt_live_dir(char *out, size_t cap, bool create, char *err, size_t errlen)
{
	char why[512] = "";
	if (xdg_dir(out, cap) && make_dir(out, create, why, sizeof why) == 0)
		return 0;
	int n = snprintf(out, cap, "/tmp/ravioli-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "socket directory path too long");
		return -1;
	}
	if (make_dir(out, create, err, errlen) == 0)
		return 0;
	if (why[0]) {
		size_t l = strlen(err);
		snprintf(err + l, errlen - l, " (and %s)", why);
	}
	return -1;
}

int ravt_live_dirs(char out[2][4096])
{
	int n = 0;
	char err[512];
	if (xdg_dir(out[n], sizeof out[n]) && check_dir(out[n], err, sizeof err) == 0)
		n++;
	snprintf(out[n], sizeof out[n], "/tmp/ravioli-%u", (unsigned)geteuid());
	if (check_dir(out[n], err, sizeof err) == 0 && !(n == 1 && strcmp(out[0], out[1]) == 0))
		n++;
	return n;
}

int ravt_live_socket_path(char *out, size_t cap, const char *dir, pid_t pid)
{
	int n = snprintf(out, cap, "%s/%ld.sock", dir, (long)pid);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}
