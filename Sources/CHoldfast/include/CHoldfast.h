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
/// Returns freed heap pages to the kernel (glibc malloc_trim).
int holdfast_malloc_trim(void);

#endif
