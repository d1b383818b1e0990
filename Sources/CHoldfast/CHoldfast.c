#define _GNU_SOURCE
#include "CHoldfast.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

const uint32_t HOLDFAST_EPOLLIN = EPOLLIN;
const uint32_t HOLDFAST_EPOLLOUT = EPOLLOUT;
const uint32_t HOLDFAST_EPOLLERR = EPOLLERR;
const uint32_t HOLDFAST_EPOLLHUP = EPOLLHUP;
const uint32_t HOLDFAST_EPOLLRDHUP = EPOLLRDHUP;

int holdfast_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int holdfast_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    int kop = op == 0 ? EPOLL_CTL_ADD : (op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    return epoll_ctl(epfd, kop, fd, &ev);
}

int holdfast_epoll_wait(int epfd, holdfast_event *out, int max, int timeout_ms) {
    struct epoll_event events[1024];
    if (max > 1024) max = 1024;
    int n = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        out[i].events = events[i].events;
        out[i].data = events[i].data.u64;
    }
    return n;
}

int holdfast_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int holdfast_signalfd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR2);
    sigaddset(&mask, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int holdfast_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return 0;
    return (int)info.ssi_signo;
}

int holdfast_accept(int listen_fd) { return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int holdfast_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int holdfast_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

pid_t holdfast_gettid(void) { return (pid_t)syscall(SYS_gettid); }

void holdfast_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

int holdfast_malloc_trim(void) { return malloc_trim(0); }

size_t holdfast_heap_in_use_bytes(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

long holdfast_resident_private_bytes(void) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char text[128];
    ssize_t count = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (count <= 0) return -1;
    text[count] = 0;
    long size = 0, resident = 0, shared = 0;
    if (sscanf(text, "%ld %ld %ld", &size, &resident, &shared) != 3) return -1;
    return (resident - shared) * sysconf(_SC_PAGESIZE);
}

const int HOLDFAST_MSG_TRUNC = MSG_TRUNC;
const int HOLDFAST_MSG_CTRUNC = MSG_CTRUNC;

/// A control buffer with room for the largest SCM_RIGHTS message, aligned for struct cmsghdr.
typedef union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(int) * HOLDFAST_MAX_FDS_PER_MESSAGE)];
} holdfast_control;

#if !defined(__x86_64__)
ssize_t holdfast_recv(int fd, void *buf, size_t len) {
    return syscall(SYS_recvfrom, fd, buf, len, 0, NULL, NULL);
}

ssize_t holdfast_send(int fd, const void *buf, size_t len, int more) {
    return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL | (more ? MSG_MORE : 0), NULL, 0);
}
#else
_Static_assert(SYS_recvfrom == 45 && SYS_sendto == 44 && MSG_NOSIGNAL == 0x4000 && MSG_MORE == 0x8000,
               "the header's inline system calls");
#endif

ssize_t holdfast_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > HOLDFAST_MAX_FDS_PER_MESSAGE) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    holdfast_control control;
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t holdfast_recv_fds(int sock, void *buf, size_t len, int *fds_out, int max_fds, int *nfds_out, int *flags_out) {
    *nfds_out = 0;
    *flags_out = 0;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    holdfast_control control;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    ssize_t n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    int flags = msg.msg_flags;
    int count = 0;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        if (cmsg->cmsg_len < CMSG_LEN(0)) continue;
        size_t received = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char *data = CMSG_DATA(cmsg);
        for (size_t i = 0; i < received; i++) {
            int fd;
            memcpy(&fd, data + i * sizeof(int), sizeof fd);
            if (count < max_fds) {
                fds_out[count++] = fd;
            } else {
                close(fd);
                flags |= MSG_CTRUNC;
            }
        }
    }
    *nfds_out = count;
    *flags_out = flags;
    return n;
}

// A spawned process starts with no signal blocked and the default disposition for the signals the server blocks
// or ignores.
static void reset_child_signals(posix_spawnattr_t *attributes) {
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGUSR2);
    posix_spawnattr_setsigmask(attributes, &empty);
    posix_spawnattr_setsigdefault(attributes, &defaults);
    posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

pid_t holdfast_spawn(const char *path, char *const argv[], char *const envp[], int inherit_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int error = posix_spawn_file_actions_init(&actions);
    if (error != 0) { errno = error; return -1; }
    error = posix_spawnattr_init(&attributes);
    if (error != 0) { posix_spawn_file_actions_destroy(&actions); errno = error; return -1; }
    // dup2 onto 3 clears close-on-exec on the copy; when the fd already is 3, dup2 would be a no-op that keeps
    // the flag, so go through a spare number first.
    if (inherit_fd == 3) {
        posix_spawn_file_actions_adddup2(&actions, 3, 4);
        posix_spawn_file_actions_adddup2(&actions, 4, 3);
    } else {
        posix_spawn_file_actions_adddup2(&actions, inherit_fd, 3);
    }
    // Nothing else leaks into the new process: a stray copy of a client socket there would keep it open after
    // the new process closes its own.
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    reset_child_signals(&attributes);
    pid_t pid = -1;
    error = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (error != 0) { errno = error; return -1; }
    return pid;
}

int holdfast_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t holdfast_spawn_stdio(
    const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd, int stderr_fd) {
    // Sources below 3 would be overwritten by an earlier dup2 onto 0..2: move them up first (close-on-exec
    // copies, gone in the child, closed here after the spawn).
    int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
    int moved[3] = {-1, -1, -1};
    for (int index = 0; index < 3; index++) {
        if (sources[index] < 3) {
            moved[index] = fcntl(sources[index], F_DUPFD_CLOEXEC, 3);
            if (moved[index] < 0) {
                for (int undo = 0; undo < index; undo++) if (moved[undo] >= 0) close(moved[undo]);
                return -1;
            }
            sources[index] = moved[index];
        }
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    pid_t pid = -1;
    int error = posix_spawn_file_actions_init(&actions);
    if (error == 0) {
        error = posix_spawnattr_init(&attributes);
        if (error == 0) {
            for (int index = 0; index < 3; index++) posix_spawn_file_actions_adddup2(&actions, sources[index], index);
            posix_spawn_file_actions_addclosefrom_np(&actions, 3);
            reset_child_signals(&attributes);
            error = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
            posix_spawnattr_destroy(&attributes);
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    for (int index = 0; index < 3; index++) if (moved[index] >= 0) close(moved[index]);
    if (error != 0) { errno = error; return -1; }
    return pid;
}

// 19 + 24 characters, kept as one literal in the file so a release tool can find and relabel it.
static const char build_tag[] = "HOLDFAST-BUILD-TAG:dev.....................";

const char *holdfast_build_tag(void) { return build_tag; }
