#ifndef HOLDFAST_CHOLDFAST_H
#define HOLDFAST_CHOLDFAST_H

// Thin C wrappers for Linux calls Swift cannot import directly: <sys/epoll.h> and <sys/eventfd.h> are not in
// the Glibc module, `struct epoll_event` is packed, fcntl is variadic and accept4 needs _GNU_SOURCE (which must
// not leak into a header Swift imports).

#include <stdint.h>
#include <sys/types.h>

/// An epoll event with a plain (unpacked) layout that Swift imports faithfully.
typedef struct {
    uint32_t events;
    uint64_t data;
} holdfast_event;

extern const uint32_t HOLDFAST_EPOLLIN;
extern const uint32_t HOLDFAST_EPOLLOUT;
extern const uint32_t HOLDFAST_EPOLLERR;
extern const uint32_t HOLDFAST_EPOLLHUP;
extern const uint32_t HOLDFAST_EPOLLRDHUP;

int holdfast_epoll_create(void);
/// op: 0 add, 1 modify, 2 delete.
int holdfast_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for at most `max` (<= 1024) events and copies them into `out`.
int holdfast_epoll_wait(int epfd, holdfast_event *out, int max, int timeout_ms);

/// A non-blocking, close-on-exec eventfd.
int holdfast_eventfd(void);
/// A non-blocking, close-on-exec signalfd for SIGTERM, SIGINT, SIGUSR2 and SIGHUP, which it also blocks in the
/// calling thread (call before starting other threads so they inherit the mask). Returns -1 on error.
int holdfast_signalfd(void);
/// Reads one signal number from a signalfd; 0 when none is pending.
int holdfast_signalfd_read(int fd);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
int holdfast_accept(int listen_fd);
int holdfast_set_nonblocking(int fd);
int holdfast_set_cloexec(int fd, int on);
pid_t holdfast_gettid(void);
/// Names the calling thread (prctl PR_SET_NAME: the first 15 bytes), for top -H, perf and /proc.
void holdfast_name_thread(const char *name);
/// Returns freed heap pages to the kernel (glibc malloc_trim).
int holdfast_malloc_trim(void);
/// Bytes of the heap in use (mallinfo2's uordblks plus hblkhd, the mmapped chunks).
size_t holdfast_heap_in_use_bytes(void);
/// Resident memory not backed by files (/proc/self/statm: resident minus shared), or -1.
long holdfast_resident_private_bytes(void);

/// The most fds one SCM_RIGHTS message may carry (the kernel's SCM_MAX_FD); more gives EINVAL from sendmsg.
#define HOLDFAST_MAX_FDS_PER_MESSAGE 253

/// recv(2) and send(2) (with MSG_NOSIGNAL, and MSG_MORE when `more` is non-zero) as plain system calls. The libc
/// wrappers are cancellation points, which in a multi-threaded process wrap every call in two more; no Holdfast
/// thread is ever cancelled. recv rather than read(2): it goes to the socket directly, where read(2) passes the
/// file layer first (the position lock, the permission hook, the access notification), about 1% of an echo's CPU.
/// -1 with errno set on failure, as the wrappers. On x86-64 the `syscall` instruction is issued inline (a header
/// function Swift inlines into the echo's read and write), which skips two calls per system call: the wrapper's
/// and libc's generic `syscall`.
#if defined(__x86_64__)
#include <errno.h>
static inline ssize_t holdfast_syscall_result(long result) {
    if (result < 0 && result > -4096) {
        errno = (int)-result;
        return -1;
    }
    return result;
}

static inline ssize_t holdfast_recv(int fd, void *buf, size_t len) {
    long result;
    register long flags __asm__("r10") = 0L;
    register long address __asm__("r8") = 0L;
    register long addressLength __asm__("r9") = 0L;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(45L /* SYS_recvfrom */), "D"((long)fd), "S"(buf), "d"(len), "r"(flags), "r"(address),
                       "r"(addressLength)
                     : "rcx", "r11", "memory");
    return holdfast_syscall_result(result);
}

static inline ssize_t holdfast_send(int fd, const void *buf, size_t len, int more) {
    long result;
    register long flags __asm__("r10") = more ? 0xC000L : 0x4000L;  // MSG_NOSIGNAL, | MSG_MORE
    register long address __asm__("r8") = 0L;
    register long addressLength __asm__("r9") = 0L;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(44L /* SYS_sendto */), "D"((long)fd), "S"(buf), "d"(len), "r"(flags), "r"(address),
                       "r"(addressLength)
                     : "rcx", "r11", "memory");
    return holdfast_syscall_result(result);
}
#else
ssize_t holdfast_recv(int fd, void *buf, size_t len);
ssize_t holdfast_send(int fd, const void *buf, size_t len, int more);
#endif

/// sendmsg of one message (`len` bytes of `buf`) with `nfds` (<= HOLDFAST_MAX_FDS_PER_MESSAGE) fds attached as
/// SCM_RIGHTS, with MSG_DONTWAIT | MSG_NOSIGNAL. Returns the bytes sent, or -1 with errno set (EINVAL when nfds
/// is out of range).
ssize_t holdfast_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

/// recvmsg of one message into `buf` (capacity `len`) with MSG_DONTWAIT | MSG_CMSG_CLOEXEC. The fds that
/// arrived (SCM_RIGHTS, in order) are stored in `fds_out` (capacity `max_fds`) and counted in `*nfds_out`;
/// `*flags_out` receives msg_flags (MSG_TRUNC, MSG_CTRUNC). Room for HOLDFAST_MAX_FDS_PER_MESSAGE fds is always
/// provided to the kernel; any fd beyond `max_fds` is closed and MSG_CTRUNC is reported. Returns the bytes
/// received (0 on end of stream), or -1 with errno set (then no fd was received).
ssize_t holdfast_recv_fds(int sock, void *buf, size_t len, int *fds_out, int max_fds, int *nfds_out, int *flags_out);

/// msg_flags bits, for the values holdfast_recv_fds reports.
extern const int HOLDFAST_MSG_TRUNC;
extern const int HOLDFAST_MSG_CTRUNC;

/// Starts `path` as a new process (posix_spawn) for a binary upgrade: the child gets `inherit_fd` as fd 3 and no
/// other fd above 2 (every other fd is closed in the child, whatever its close-on-exec flag), an empty signal
/// mask and default dispositions for the signals the server blocks or ignores. `argv` and `envp` are
/// NULL-terminated. Returns the child's pid, or -1 with errno set (ENOENT, EACCES, ENOEXEC, ...).
pid_t holdfast_spawn(const char *path, char *const argv[], char *const envp[], int inherit_fd);

/// pipe2 with O_CLOEXEC (blocking): `fds[0]` reads, `fds[1]` writes. Returns 0 or -1 with errno set.
int holdfast_pipe(int fds[2]);

/// Starts `path` (posix_spawn) as a short-lived helper whose standard streams are `stdin_fd`, `stdout_fd` and
/// `stderr_fd`, with no other fd open, an empty signal mask and default
/// dispositions for the signals the server blocks or ignores. `argv` and `envp` are NULL-terminated. Returns
/// the child's pid, or -1 with errno set.
pid_t holdfast_spawn_stdio(
    const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd);

/// A marker string compiled into the binary: "HOLDFAST-BUILD-TAG:" followed by a 24-character tag field (padded
/// with '.'). Release tooling may overwrite the field in place to label a build; `/admin/status` reports it.
const char *holdfast_build_tag(void);

#endif
