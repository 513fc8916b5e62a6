/* The kernel side of `portsim kernel`: sockets on a private loopback. */
#include "kernel_driver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include "arrival.h"
#include "event_queue.h"
#include "output.h"
#include "rng.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

enum { CHILD_OK = 0, CHILD_EPERM = 3, CHILD_FAILED = 4, CHILD_INTERRUPTED = 5 };

/* What an fd is, so one epoll set serves listeners, both ends of every
 * connection and nothing else. */
typedef enum { FD_NONE, FD_LISTEN, FD_SERVER, FD_CLIENT } FdKind;
typedef enum { C_CONNECTING, C_ESTABLISHED, C_WAIT_EOF } ClientState;

typedef struct {
    FdKind kind;
    ClientState state;
    guint32 gen; /* tells a hold timer for a closed fd from one for its successor */
    guint workload;
    SimTime scheduled; /* the attempt's scheduled time: its row in kernel.csv */
} FdSlot;

typedef struct {
    gint64 attempts, successes, eaddrnotavail, eaddrinuse, other;
    gint64 established, time_wait, tw_client, tw_server;
} Bucket;

typedef struct {
    KrPlan *plan;
    int ep;
    gint64 t0;
    SimQueue *queue;
    GArray *slots; /* FdSlot by fd */
    Bucket *buckets;
    guint n_buckets;
    GPtrArray *arrivals; /* PsArrival* per workload */
    SimRng *hold_rng;    /* per workload */
    GString *ports;
    GHashTable *listening; /* (address << 16 | port), network order, as gint64 */
    Bucket total;
    SimTime first_failure;
    SimTime event_time; /* scheduled time of the event being handled */
    gboolean done;
} Driver;

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) { (void)sig; stop_requested = 1; }

static SimTime now_ns(const Driver *d)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (SimTime)ts.tv_sec * SIM_S + ts.tv_nsec - d->t0;
}

static FdSlot *slot(Driver *d, int fd)
{
    if ((guint)fd >= d->slots->len)
        g_array_set_size(d->slots, (guint)fd + 1);
    return &g_array_index(d->slots, FdSlot, fd);
}

/* Row s of kernel.csv covers (s-1, s] by scheduled time, row 0 the
 * instant 0: the simulator's rows, so paced arrivals on whole seconds land
 * in the same row on both sides. */
static Bucket *bucket_at(Driver *d, SimTime t)
{
    gint64 i = t <= 0 ? 0 : (t + SIM_S - 1) / SIM_S;
    return &d->buckets[MIN((guint64)i, (guint64)d->n_buckets - 1)];
}

static void watch(Driver *d, int fd, FdKind kind, guint32 events, int op)
{
    FdSlot *s = slot(d, fd);
    s->kind = kind;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    epoll_ctl(d->ep, op, fd, &ev);
}

static void drop(Driver *d, int fd)
{
    FdSlot *s = slot(d, fd);
    s->kind = FD_NONE;
    s->gen++;
    epoll_ctl(d->ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

static void set_linger0(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

/* t: scheduled time (the row); the first failure is the real time. */
static void fail(Driver *d, SimTime t, int err)
{
    Bucket *b = bucket_at(d, t);
    if (err == EADDRNOTAVAIL)
        b->eaddrnotavail++, d->total.eaddrnotavail++;
    else if (err == EADDRINUSE)
        b->eaddrinuse++, d->total.eaddrinuse++;
    else
        b->other++, d->total.other++;
    if (d->first_failure == SIM_TIME_NEVER)
        d->first_failure = now_ns(d);
}

/* One connection attempt of workload wi, as the scenario's host makes it. */
static void attempt(Driver *d, guint wi, SimTime t)
{
    KrWorkload *w = d->plan->workloads->pdata[wi];
    KrHost *h = w->host;
    bucket_at(d, t)->attempts++;
    d->total.attempts++;
    struct in_addr src = g_array_index(h->sources, struct in_addr, h->next_source);
    if (h->round_robin)
        h->next_source = (h->next_source + 1) % h->sources->len;
    struct sockaddr_in dst = g_array_index(w->destinations, struct sockaddr_in,
                                           w->next_destination);
    w->next_destination = (w->next_destination + 1) % w->destinations->len;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(d, t, errno);
        return;
    }
    if (h->linger0 && !w->server_closes)
        set_linger0(fd);
    /* Without bind-before-connect the port is connect()'s choice, with
     * 4-tuple sharing; IP_BIND_ADDRESS_NO_PORT keeps that while fixing the
     * source address (and is what bind_address_no_port asks for). */
    if (!h->bind_before_connect || h->bind_address_no_port) {
        int one = 1;
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    }
    if (h->local_port_lo > 0) {
        guint32 range = ((guint32)h->local_port_hi << 16) | (guint32)h->local_port_lo;
        setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof range);
    }
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = src, .sin_port = 0};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        int e = errno;
        close(fd);
        fail(d, t, e);
        return;
    }
    socklen_t len = sizeof local;
    getsockname(fd, (struct sockaddr *)&local, &len);
    char s_src[INET_ADDRSTRLEN], s_dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &src, s_src, sizeof s_src);
    inet_ntop(AF_INET, &dst.sin_addr, s_dst, sizeof s_dst);
    g_string_append_printf(d->ports, "%.6f,%s,%s,%s:%u,%u\n", sim_time_to_seconds(t), w->name,
                           s_src, s_dst, ntohs(dst.sin_port), ntohs(local.sin_port));
    FdSlot *s = slot(d, fd);
    s->state = C_CONNECTING;
    s->workload = wi;
    s->scheduled = t;
    watch(d, fd, FD_CLIENT, EPOLLOUT, EPOLL_CTL_ADD);
}

static void on_arrival(void *ctx, uint64_t wi)
{
    Driver *d = ctx;
    attempt(d, (guint)wi, d->event_time);
    SimTime next = ps_arrival_next(d->arrivals->pdata[wi]);
    if (next != SIM_TIME_NEVER && next < d->plan->duration)
        sim_queue_push(d->queue, next, on_arrival, d, wi);
}

/* The hold is over: the closer closes. A server closes when the client
 * tells it to with one byte ('L': with SO_LINGER {1, 0}). */
static void close_now(Driver *d, int fd)
{
    FdSlot *s = slot(d, fd);
    KrWorkload *w = d->plan->workloads->pdata[s->workload];
    if (w->server_closes) {
        char cmd = w->host->linger0 ? 'L' : 'C';
        if (write(fd, &cmd, 1) == 1) {
            s->state = C_WAIT_EOF;
            watch(d, fd, FD_CLIENT, EPOLLIN, EPOLL_CTL_MOD);
            return;
        }
    }
    drop(d, fd);
}

static void on_hold(void *ctx, uint64_t arg)
{
    Driver *d = ctx;
    int fd = (int)(arg & 0xffffffffu);
    FdSlot *s = slot(d, fd);
    if (s->kind == FD_CLIENT && s->gen == (guint32)(arg >> 32) && s->state == C_ESTABLISHED)
        close_now(d, fd);
}

static void client_event(Driver *d, int fd, guint32 events)
{
    FdSlot *s = slot(d, fd);
    SimTime t = now_ns(d);
    if (s->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            fail(d, s->scheduled, err);
            drop(d, fd);
            return;
        }
        bucket_at(d, s->scheduled)->successes++;
        d->total.successes++;
        s->state = C_ESTABLISHED;
        KrWorkload *w = d->plan->workloads->pdata[s->workload];
        SimTime hold = sim_dist_sample(&w->hold, &d->hold_rng[s->workload]);
        if (hold == 0) {
            close_now(d, fd);
            return;
        }
        watch(d, fd, FD_CLIENT, 0, EPOLL_CTL_MOD);
        sim_queue_push(d->queue, t + hold, on_hold, d, ((uint64_t)s->gen << 32) | (guint32)fd);
        return;
    }
    if (s->state == C_WAIT_EOF || (events & (EPOLLERR | EPOLLHUP))) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0 && !(n < 0 && errno == EAGAIN))
            drop(d, fd);
    }
}

static void server_event(Driver *d, int fd)
{
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n > 0 && memchr(buf, 'L', (size_t)n))
        set_linger0(fd);
    drop(d, fd); /* EOF (client closed first), a close command, or a reset */
}

static void accept_all(Driver *d, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        watch(d, fd, FD_SERVER, EPOLLIN, EPOLL_CTL_ADD);
    }
}

static gint64 endpoint_key(guint32 addr, guint16 port)
{
    return ((gint64)addr << 16) | port;
}

/* A set: /proc/net/tcp can hold 10^5 lines a second at 2000/s. */
static gboolean is_listener(const Driver *d, guint32 addr, guint16 port)
{
    gint64 key = endpoint_key(addr, port);
    return g_hash_table_contains(d->listening, &key);
}

/* Counts sockets by state from /proc/net/tcp, which shows the reader's own
 * namespace. A client socket is one whose peer is a listener. */
static void sample_sockets(Driver *d, Bucket *b)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return;
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned la, lp, ra, rp, st;
        if (sscanf(line, " %*d: %8X:%4X %8X:%4X %2X", &la, &lp, &ra, &rp, &st) != 5)
            continue;
        /* The address is the raw network-order word printed as a number. */
        gboolean client = is_listener(d, ra, htons((guint16)rp));
        gboolean server = is_listener(d, la, htons((guint16)lp));
        if (st == 0x01 && client)
            b->established++;
        else if (st == 0x06) {
            b->time_wait++;
            b->tw_client += client;
            b->tw_server += server;
        }
    }
    fclose(f);
}

static void on_sample(void *ctx, uint64_t second)
{
    Driver *d = ctx;
    sample_sockets(d, &d->buckets[second]);
}

static void on_end(void *ctx, uint64_t arg)
{
    ((Driver *)ctx)->done = TRUE;
}

static gboolean write_sysctl(const char *name, const char *value)
{
    g_autofree char *path = g_strconcat("/proc/sys/net/ipv4/", name, NULL);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    gboolean ok = fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    if (!ok)
        fprintf(stderr, "portsim kernel: cannot set net.ipv4.%s = %s: %s\n", name, value,
                g_strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

static gboolean lo_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    g_strlcpy(ifr.ifr_name, "lo", IFNAMSIZ);
    gboolean ok = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ok = ok && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    if (!ok)
        fprintf(stderr, "portsim kernel: cannot bring lo up: %s\n", g_strerror(errno));
    if (s >= 0)
        close(s);
    return ok;
}

static gboolean setup_namespace(const KrPlan *plan)
{
    if (!lo_up())
        return FALSE;
    g_autofree char *range = g_strdup_printf("%d %d", plan->range_lo, plan->range_hi);
    g_autofree char *reuse = g_strdup_printf("%d", plan->tw_reuse);
    /* An empty write is refused by some kernels; "\n" clears the list. */
    const char *reserved = *plan->reserved_ports ? plan->reserved_ports : "\n";
    g_autofree char *delay = g_strdup_printf("%d", plan->tw_reuse_delay_ms);
    g_autofree char *buckets = g_strdup_printf("%" G_GINT64_FORMAT, plan->max_tw_buckets);
    return write_sysctl("ip_local_port_range", range) &&
           write_sysctl("ip_local_reserved_ports", reserved) &&
           write_sysctl("tcp_tw_reuse", reuse) &&
           (plan->tw_reuse_delay_ms < 0 || write_sysctl("tcp_tw_reuse_delay", delay)) &&
           (plan->max_tw_buckets < 0 || write_sysctl("tcp_max_tw_buckets", buckets));
}

static gboolean open_listeners(Driver *d)
{
    for (guint i = 0; i < d->plan->listeners->len; i++) {
        const struct sockaddr_in *l = &g_array_index(d->plan->listeners, struct sockaddr_in, i);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, (const struct sockaddr *)l, sizeof *l) != 0 ||
            listen(fd, 4096) != 0) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &l->sin_addr, a, sizeof a);
            fprintf(stderr, "portsim kernel: cannot listen on %s:%u: %s\n", a,
                    ntohs(l->sin_port), g_strerror(errno));
            return FALSE;
        }
        watch(d, fd, FD_LISTEN, EPOLLIN, EPOLL_CTL_ADD);
        gint64 *key = g_new(gint64, 1);
        *key = endpoint_key(l->sin_addr.s_addr, l->sin_port);
        g_hash_table_add(d->listening, key);
    }
    return TRUE;
}

static void run_loop(Driver *d)
{
    struct epoll_event evs[256];
    while (!d->done && !stop_requested) {
        SimTime now = now_ns(d);
        while (sim_queue_peek_time(d->queue) <= now && !d->done) {
            SimEvent e;
            sim_queue_pop(d->queue, &e);
            d->event_time = e.time;
            e.handler(e.ctx, e.arg);
            now = now_ns(d);
        }
        if (d->done)
            break;
        SimTime wait = sim_queue_peek_time(d->queue) - now;
        int ms = wait <= 0 ? 0 : (int)MIN((wait + SIM_MS - 1) / SIM_MS, 1000);
        int n = epoll_wait(d->ep, evs, G_N_ELEMENTS(evs), ms);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            switch (slot(d, fd)->kind) {
            case FD_LISTEN: accept_all(d, fd); break;
            case FD_SERVER: server_event(d, fd); break;
            case FD_CLIENT: client_event(d, fd, evs[i].events); break;
            case FD_NONE: break;
            }
        }
    }
}

static char *kernel_release(void)
{
    struct utsname u;
    return uname(&u) == 0 ? g_strdup(u.release) : g_strdup("unknown");
}

static gboolean write_outputs(Driver *d, const char *dir, gboolean complete)
{
    GString *csv = g_string_new("time_s,attempts,successes,failures,eaddrnotavail,eaddrinuse,"
                                "other_failures,established,time_wait,time_wait_client,"
                                "time_wait_server\n");
    for (guint i = 0; i < d->n_buckets; i++) {
        const Bucket *b = &d->buckets[i];
        g_string_append_printf(csv,
                               "%u,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                               ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                               ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                               ",%" G_GINT64_FORMAT "\n",
                               i, b->attempts, b->successes,
                               b->eaddrnotavail + b->eaddrinuse + b->other, b->eaddrnotavail,
                               b->eaddrinuse, b->other, b->established, b->time_wait,
                               b->tw_client, b->tw_server);
    }
    g_autoptr(JsonBuilder) jb = json_builder_new();
    json_builder_begin_object(jb);
    g_autofree char *rel = kernel_release();
    json_builder_set_member_name(jb, "kernel_release");
    json_builder_add_string_value(jb, rel);
    json_builder_set_member_name(jb, "complete");
    json_builder_add_boolean_value(jb, complete);
    json_builder_set_member_name(jb, "duration_s");
    json_builder_add_double_value(jb, sim_time_to_seconds(d->plan->duration));
    const struct { const char *k; gint64 v; } totals[] = {
        {"attempts", d->total.attempts},     {"successes", d->total.successes},
        {"eaddrnotavail", d->total.eaddrnotavail}, {"eaddrinuse", d->total.eaddrinuse},
        {"other_failures", d->total.other},
    };
    for (guint i = 0; i < G_N_ELEMENTS(totals); i++) {
        json_builder_set_member_name(jb, totals[i].k);
        json_builder_add_int_value(jb, totals[i].v);
    }
    json_builder_set_member_name(jb, "first_failure_s");
    if (d->first_failure == SIM_TIME_NEVER)
        json_builder_add_null_value(jb);
    else
        json_builder_add_double_value(jb, sim_time_to_seconds(d->first_failure));
    json_builder_set_member_name(jb, "sysctl");
    json_builder_begin_object(jb);
    g_autofree char *range = g_strdup_printf("%d %d", d->plan->range_lo, d->plan->range_hi);
    json_builder_set_member_name(jb, "net.ipv4.ip_local_port_range");
    json_builder_add_string_value(jb, range);
    json_builder_set_member_name(jb, "net.ipv4.ip_local_reserved_ports");
    json_builder_add_string_value(jb, d->plan->reserved_ports);
    json_builder_set_member_name(jb, "net.ipv4.tcp_tw_reuse");
    json_builder_add_int_value(jb, d->plan->tw_reuse);
    if (d->plan->tw_reuse_delay_ms >= 0) {
        json_builder_set_member_name(jb, "net.ipv4.tcp_tw_reuse_delay");
        json_builder_add_int_value(jb, d->plan->tw_reuse_delay_ms);
    }
    if (d->plan->max_tw_buckets >= 0) {
        json_builder_set_member_name(jb, "net.ipv4.tcp_max_tw_buckets");
        json_builder_add_int_value(jb, d->plan->max_tw_buckets);
    }
    json_builder_end_object(jb);
    json_builder_end_object(jb);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_pretty(gen, TRUE);
    g_autoptr(JsonNode) root = json_builder_get_root(jb);
    json_generator_set_root(gen, root);
    g_autofree char *json = json_generator_to_data(gen, NULL);
    g_autofree char *json_nl = g_strconcat(json, "\n", NULL);

    g_autofree char *p_csv = g_build_filename(dir, "kernel.csv", NULL);
    g_autofree char *p_ports = g_build_filename(dir, "ports.csv", NULL);
    g_autofree char *p_json = g_build_filename(dir, "kernel.json", NULL);
    GError *error = NULL;
    gboolean ok = sim_output_mkdir(dir, &error) &&
                  sim_output_write(p_csv, csv->str, (gssize)csv->len, &error) &&
                  sim_output_write(p_ports, d->ports->str, (gssize)d->ports->len, &error) &&
                  sim_output_write(p_json, json_nl, -1, &error);
    if (!ok) {
        fprintf(stderr, "portsim kernel: %s\n", error->message);
        g_error_free(error);
    }
    g_string_free(csv, TRUE);
    return ok;
}

/* The child: everything here happens inside the new namespace. */
static int child_main(KrPlan *plan, const char *dir)
{
    if (unshare(CLONE_NEWNET) != 0)
        return errno == EPERM ? CHILD_EPERM : CHILD_FAILED;
    if (!setup_namespace(plan))
        return CHILD_FAILED;
    /* Every connection in TIME_WAIT still holds an fd until closed only
     * briefly, but long holds at high rates need many descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    Driver d = {0};
    d.plan = plan;
    d.ep = epoll_create1(EPOLL_CLOEXEC);
    d.queue = sim_queue_new();
    d.slots = g_array_new(FALSE, TRUE, sizeof(FdSlot));
    d.n_buckets = (guint)((plan->duration + SIM_S - 1) / SIM_S) + 1;
    d.buckets = g_new0(Bucket, d.n_buckets);
    d.arrivals = g_ptr_array_new_with_free_func((GDestroyNotify)ps_arrival_free);
    d.hold_rng = g_new0(SimRng, plan->workloads->len);
    d.ports = g_string_new("time_s,workload,source,destination,port\n");
    d.first_failure = SIM_TIME_NEVER;
    d.listening = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    if (!open_listeners(&d))
        return CHILD_FAILED;
    for (guint i = 0; i < plan->workloads->len; i++) {
        KrWorkload *w = plan->workloads->pdata[i];
        g_autofree char *astream = g_strconcat("kernel ", w->name, " arrivals", NULL);
        g_autofree char *hstream = g_strconcat("kernel ", w->name, " holds", NULL);
        SimRng rng;
        sim_rng_seed(&rng, plan->seed, astream, 0);
        sim_rng_seed(&d.hold_rng[i], plan->seed, hstream, 0);
        PsArrival *a = ps_arrival_new(w->poisson, w->points, w->start, w->stop, &rng);
        g_ptr_array_add(d.arrivals, a);
    }
    /* Sockets are counted 2 ms after each whole second, so a connection
     * scheduled on the second has finished its loopback handshake (tens of
     * microseconds), as the simulator's sampler, which runs after the
     * events of its instant, sees it. */
    const SimTime settle = 2 * SIM_MS;
    for (guint s = 0; s < d.n_buckets; s++)
        sim_queue_push(d.queue, MIN((SimTime)s * SIM_S, plan->duration) + settle, on_sample, &d,
                       s);
    sim_queue_push(d.queue, plan->duration + settle, on_end, &d, 0);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    d.t0 = (SimTime)ts.tv_sec * SIM_S + ts.tv_nsec;
    for (guint i = 0; i < plan->workloads->len; i++) {
        SimTime first = ps_arrival_next(d.arrivals->pdata[i]);
        if (first != SIM_TIME_NEVER && first < plan->duration)
            sim_queue_push(d.queue, first, on_arrival, &d, i);
    }
    run_loop(&d);
    gboolean complete = d.done && !stop_requested;
    if (!write_outputs(&d, dir, complete))
        return CHILD_FAILED;
    return complete ? CHILD_OK : CHILD_INTERRUPTED;
}

KrStatus kr_execute(KrPlan *plan, const char *dir)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "portsim kernel: fork: %s\n", g_strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return KR_FAILED;
    }
    if (pid == 0) {
        /* Never outlive the parent, whatever kills it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(CHILD_FAILED);
        struct sigaction sa = {0};
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        int code = child_main(plan, dir);
        fflush(NULL);
        _exit(code);
    }
    /* Bounded wait: the child stops itself at the duration; past a grace
     * period, or when asked to stop, it is told and then killed. */
    gint64 deadline = g_get_monotonic_time() + (plan->duration / SIM_US) + 30 * G_USEC_PER_SEC;
    gboolean interrupted = FALSE;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        struct timespec tick = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &tick);
        if ((sig == SIGINT || sig == SIGTERM) && !interrupted) {
            interrupted = TRUE;
            kill(pid, SIGTERM);
            deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        }
        if (g_get_monotonic_time() > deadline) {
            kill(pid, SIGKILL);
            deadline = G_MAXINT64;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (!WIFEXITED(status))
        return interrupted ? KR_INTERRUPTED : KR_FAILED;
    switch (WEXITSTATUS(status)) {
    case CHILD_OK: return interrupted ? KR_INTERRUPTED : KR_OK;
    case CHILD_EPERM: return KR_NO_PERMISSION;
    case CHILD_INTERRUPTED: return KR_INTERRUPTED;
    default: return KR_FAILED;
    }
}
