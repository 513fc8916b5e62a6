/* NAT boxes: mappings, port search, per-state timeouts, reclaiming, limits
 * and port blocks (see nat.h and docs/nat.md).
 *
 * Two records:
 * - a mapping: an internal endpoint (client address and port; plus the
 *   destination address under address-dependent mapping, plus its port
 *   under address-and-port-dependent mapping) bound to an external address
 *   and port. Endpoint-independent mappings hold their external port
 *   exclusively; dependent ones hold the external 4-tuple only, so one
 *   external port serves different destinations (RFC 7857 §3 "port
 *   overlapping", what netfilter and the cloud NATs do: ports.md §5.7-5.8).
 * - an entry (a conntrack session): one connection through a mapping, with
 *   its state and timer. A mapping lives while an entry uses it. */
#include "nat.h"
#include "json_members.h"

#include <math.h>
#include <string.h>
#include "sim_error.h"

typedef enum { MAP_EIM, MAP_ADM, MAP_APDM } MapKind;
typedef enum { ALLOC_NETFILTER, ALLOC_RANDOM, ALLOC_SEQUENTIAL, ALLOC_CLASS } AllocKind;

#define NONE UINT32_MAX

typedef struct {
    SimAddress address;
    PsPortPool *ports;
    PsPortPool *udp; /* UDP's own port space */
    uint32_t pool_id;
    SimGauge *ports_in_use;
    GQueue free_blocks; /* block numbers within this address, FIFO */
    PsAllocator *alloc; /* a host allocator class chosen as the NAT's, or NULL */
    uint32_t cursor;    /* sequential allocator */
} NatAddr;

typedef struct {
    uint32_t sub;
    uint32_t block; /* global block number, or NONE */
    uint32_t refs;
    PsDestId xdest; /* the external pool's destination (not used by EIM) */
    uint16_t addr;
    uint16_t port;
    gboolean udp;
    uint32_t last_entry; /* the newest entry on it (APDM: the only one) */
    gpointer key;
} NatMap;

typedef struct {
    uint32_t map;
    uint32_t conn;    /* connection id, or NONE once recycled */
    uint32_t dest;    /* the NAT's destination id: per-destination limits */
    uint32_t pool_id; /* what the server sees, kept after the entry ends */
    uint16_t port;
    uint16_t int_port; /* the client's: traces outlive the connection record */
    uint8_t state;
    gboolean holding; /* holds its mapping (timer running) */
    PsPool *pool;
    const PsEndpoint *ep;
    guint64 serial;
    SimTime since; /* created: a UDP flow older than 2 s becomes a stream */
    uint32_t up;   /* chains: the outer box's entry + 1; 0: none */
    SimEventId timer;
} NatEntry;

typedef struct {
    uint32_t sessions; /* mappings held */
    uint32_t det; /* deterministic block index */
    GArray *blocks; /* uint32 global block numbers */
    uint16_t addr;  /* paired address */
} NatSub;

typedef struct {
    SimAddress address;
    uint16_t port;
    uint16_t udp;
} DestKey;

/* Who sends through the box: a client address and port, or, in a chain,
 * the address and port an inner box translated it to. */
typedef struct {
    gpointer key;              /* the client's PsPool*, or the inner box's NatAddr* */
    uint32_t pool_id;          /* that pool's id (mapping keys) */
    const SimAddress *address; /* the subscriber */
    uint16_t port;
    const PsPool *client;      /* NULL behind another box */
} Origin;

struct PsNat {
    SimSection *section; /* first: found by section */
    const char *name;
    PsNetwork *net;
    PsNat *up; /* the box this one sits behind (via), or NULL */
    NatAddr *addrs;
    guint n_addrs;
    SimRange range;
    guint range_size;
    MapKind mapping;
    gboolean paired;
    gboolean preserve, parity;
    AllocKind alloc;
    gboolean reclaim;
    SimTime timeout[PS_NAT_N_STATES];
    gint64 max_mappings, max_per_dest;
    guint block_size, max_blocks, blocks_per_addr;
    gboolean deterministic;
    SimRng rng;
    guint next_addr;

    GArray *maps;    /* NatMap */
    GArray *free_maps;
    GArray *entries; /* NatEntry */
    GArray *free_entries;
    GHashTable *map_index;   /* key -> map + 1 */
    GHashTable *evictable;   /* (addr, xdest, port) -> entry + 1, TIME_WAIT/CLOSE */
    GHashTable *dest_ids;    /* DestKey* -> id + 1 */
    GArray *dest_keys;       /* DestKey */
    GHashTable *per_dest;    /* (addr, dest) -> entries holding */
    GHashTable *subs_by_pool; /* client PsPool* -> sub + 1 */
    GArray *subs;            /* NatSub */
    guint32 *block_use;      /* mappings per global block */
    GArray *top_hist;        /* guint: subscribers with k entries */
    guint top;
    gint64 holding;

    SimGauge *active, *time_wait, *ports_in_use, *top_sub, *by_state[PS_NAT_N_STATES];
    SimCounter *translated, *drops, *drop[PS_NAT_DROP_N], *reclaimed, *expired,
        *expired_in_use, *late_successes, *mappings_created;
    SimTime first_drop;
};

static const char *const state_names[PS_NAT_N_STATES] = {
    "syn_sent", "established", "fin_wait", "close_wait", "last_ack",
    "time_wait", "close",      "udp",      "udp_stream"};
static const char *const timeout_keys[PS_NAT_N_STATES] = {
    "tcp_syn_sent", "tcp_established", "tcp_fin_wait",  "tcp_close_wait", "tcp_last_ack",
    "tcp_time_wait", "tcp_close",      "udp_unreplied", "udp_assured"};
static const char *const drop_names[PS_NAT_DROP_N] = {
    "no_free_port", "per_destination_limit", "per_subscriber_limit", "table_full"};

/* --- schema ------------------------------------------------------------ */

static const SimKeyDef nat_keys[] = {
    {"preset", SIM_TYPE_ENUM, "linux-masquerade", NULL, NULL,
     "linux-masquerade|aws-nat-gateway|gcp-cloud-nat|azure-nat-gateway|azure-lb-snat|cgn-pba", 0,
     "The box whose defaults the keys below take; any key given explicitly overrides it. See "
     "`portsim list presets`."},
    {"addresses", SIM_TYPE_ADDRESSES, NULL, NULL, "4096", NULL, SIM_KEY_REQUIRED,
     "External (public) addresses: a list, range or CIDR block. Each has its own pool of "
     "port_range."},
    {"port_range", SIM_TYPE_RANGE, "1024-65535", "1", "65535", NULL, 0,
     "External ports per address. netfilter's default for source ports >= 1024 and the cloud "
     "NATs' pool: 1024-65535, 64,512 ports (nf_nat_l4proto_unique_tuple(); ports.md §1.1, "
     "§5.7, §5.8)."},
    {"via", SIM_TYPE_REFERENCE, NULL, NULL, NULL, "nat", 0,
     "A NAT this one sits behind (a home NAT behind a CGN): what this box sends goes through "
     "that one, whose subscribers are then this box's external addresses."},
    {"pooling", SIM_TYPE_ENUM, "paired", NULL, NULL, "paired|arbitrary", 0,
     "Which external address a subscriber (client address) gets: paired, always the same one "
     "(a hash of the client address; RFC 4787 REQ-2, RFC 6888 REQ-2), or arbitrary, the first "
     "address in turn that has a port for the destination."},
    {"mapping", SIM_TYPE_ENUM, "address-and-port-dependent", NULL, NULL,
     "endpoint-independent|address-dependent|address-and-port-dependent", 0,
     "RFC 4787 §4.1: when an internal address:port keeps its external port. "
     "endpoint-independent: for every destination (the external port is then the endpoint's "
     "alone); address-dependent: per destination address; address-and-port-dependent: per "
     "destination address and port. The dependent kinds share an external port between "
     "different destinations (only the external 4-tuple is unique: RFC 7857 §3, netfilter, "
     "cloud NATs)."},
    {"port_preservation", SIM_TYPE_BOOL, "true", NULL, NULL, NULL, 0,
     "Try the client's own port first when it is in port_range and free (netfilter "
     "get_unique_tuple() without --random-fully; RFC 4787 §4.2.1)."},
    {"port_parity", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "Keep the port's parity (even stays even: RFC 4787 REQ-4). Honoured by the random and "
     "sequential allocators."},
    {"allocator", SIM_TYPE_ENUM, "netfilter", NULL, NULL,
     "netfilter|netfilter-random-fully|random|sequential|random-pick|hash|double-hash|"
     "random-increments|linux",
     0,
     "External port choice. netfilter: a random offset, then up to min(range, 128) ports "
     "upward, then rounds of half as many from new random offsets while at least 16: at most "
     "128+64+32+16 = 240 probes, so a large pool may drop a SYN while ports are free "
     "(nf_nat_l4proto_unique_tuple(), ports.md §5.7). netfilter-random-fully: the same search "
     "without port preservation. random: a random start, then upward through the whole range "
     "(RFC 6056 Algorithm 1). sequential: the next port after the last one handed out. "
     "random-pick, hash, double-hash, random-increments, linux: the hosts' strategies "
     "(`portsim list allocators`), run on the NAT's pool per external address, to compare "
     "them at a NAT (not with port blocks, which search their blocks as `random` does)."},
    {"reclaim", SIM_TYPE_ENUM, "time-wait", NULL, NULL, "none|time-wait", 0,
     "time-wait: during the last 32 probes of a netfilter search round, an entry in TIME_WAIT "
     "or CLOSE on the candidate port is evicted and its port reused "
     "(nf_nat_used_tuple_harder(), NF_NAT_HARDER_THRESH; measured: a 100-port pool at 2 "
     "conn/s with 120 s TIME_WAIT never failed, linux-nat-measured.md). The new connection's "
     "sequence number is assumed to have advanced. none: ports are held until their timer "
     "ends (the cloud NATs' documented hold timers). Needs a netfilter allocator."},
    {"tcp_syn_sent", SIM_TYPE_DURATION, "120s", "1ms", "30d", NULL, 0,
     "Entry lifetime after a SYN with no answer yet (nf_conntrack_tcp_timeout_syn_sent 120 s)."},
    {"tcp_established", SIM_TYPE_DURATION, "5d", "1ms", "30d", NULL, 0,
     "Idle lifetime of an established entry (nf_conntrack_tcp_timeout_established 432000 s). "
     "Segments are only the handshake and close here, so it bounds the connection's life: "
     "an entry that expires frees its port while the connection lives on (counted as "
     "expired_in_use)."},
    {"tcp_fin_wait", SIM_TYPE_DURATION, "120s", "1ms", "30d", NULL, 0,
     "After the first FIN (nf_conntrack_tcp_timeout_fin_wait 120 s)."},
    {"tcp_close_wait", SIM_TYPE_DURATION, "60s", "1ms", "30d", NULL, 0,
     "After the FIN was acknowledged alone (nf_conntrack_tcp_timeout_close_wait 60 s). The "
     "model's peers answer a FIN with ACK+FIN at once, so entries go to LAST_ACK instead."},
    {"tcp_last_ack", SIM_TYPE_DURATION, "30s", "1ms", "30d", NULL, 0,
     "After the second FIN (nf_conntrack_tcp_timeout_last_ack 30 s)."},
    {"tcp_time_wait", SIM_TYPE_DURATION, "120s", "1ms", "30d", NULL, 0,
     "After the last ACK: the box's own TIME_WAIT, independent of the hosts' "
     "(nf_conntrack_tcp_timeout_time_wait 120 s; measured lifetimes 120.0-121.0 s, "
     "linux-nat-measured.md)."},
    {"tcp_close", SIM_TYPE_DURATION, "10s", "1ms", "30d", NULL, 0,
     "After an RST (nf_conntrack_tcp_timeout_close 10 s; measured 10 s)."},
    {"udp_unreplied", SIM_TYPE_DURATION, "30s", "1ms", "30d", NULL, 0,
     "A UDP entry that is not a stream: no answer yet, or answered within 2 s of its start "
     "(a DNS query and its reply) (nf_conntrack_udp_timeout 30 s, nf_conntrack_proto_udp.c; "
     "ports.md §5.7)."},
    {"udp_assured", SIM_TYPE_DURATION, "120s", "1ms", "30d", NULL, 0,
     "A UDP stream: traffic both ways on a flow older than 2 s (nf_conntrack_udp_timeout_stream "
     "120 s since commit 294304e4c522; ports.md §5.7)."},
    {"max_mappings", SIM_TYPE_INT, "262144", "1", NULL, NULL, 0,
     "Most entries at once, in every state; a SYN past it is dropped as table_full "
     "(nf_conntrack_max 262144 in a fresh 6.18 namespace, linux-nat-measured.md)."},
    {"max_per_destination", SIM_TYPE_INT, NULL, "1", NULL, NULL, 0,
     "Most entries per external address toward one destination (address, port); a SYN past "
     "it on every eligible address is dropped as per_destination_limit. AWS NAT gateway: "
     "55,000 (ports.md §5.8). Unset: no limit but the ports."},
    {"block_size", SIM_TYPE_INT, NULL, "1", "65535", NULL, 0,
     "Port-block allocation: a subscriber (client address) gets blocks of this many "
     "contiguous external ports on first use and maps only inside them (RFC 7422). Within a "
     "block a port still serves different destinations unless mapping is "
     "endpoint-independent. Unset: no blocks."},
    {"max_blocks_per_host", SIM_TYPE_INT, "1", "1", NULL, NULL, 0,
     "With block_size: most blocks one subscriber may hold; past it a SYN with no port in "
     "its blocks is dropped as per_subscriber_limit. An empty block goes back to the box."},
    {"deterministic", SIM_TYPE_BOOL, "false", NULL, NULL, NULL, 0,
     "With block_size: RFC 7422 deterministic NAT: subscriber i (client addresses numbered "
     "across the hosts using this box, in scenario order) owns block i for good; no dynamic "
     "blocks."},
    {"min_ports_per_host", SIM_TYPE_INT, NULL, "1", "65535", NULL, 0,
     "GCP Cloud NAT minPortsPerVm: shorthand for block_size (default 64 with static "
     "allocation; ports.md §5.8)."},
    {"max_ports_per_host", SIM_TYPE_INT, NULL, "1", "65536", NULL, 0,
     "GCP Cloud NAT maxPortsPerVm with dynamic port allocation: max_blocks_per_host = "
     "max / min. (GCP doubles a VM's allocation; equal blocks reach the same total.)"},
    {"ports_per_host", SIM_TYPE_INT, NULL, "1", "65535", NULL, 0,
     "Azure load balancer default SNAT: ports preallocated per instance (1,024 for pools of "
     "1-50 instances down to 32 for 801-1,000; ports.md §5.8): one block of this size."},
};

static const SimSectionDef nat_section = {
    "nat", TRUE,
    "A NAT box that client hosts (or workloads) route through with `via = nat NAME`: "
    "external addresses and ports, mapping behaviour, port search, per-state timeouts, limits "
    "and port blocks.",
    nat_keys, G_N_ELEMENTS(nat_keys)};

const SimSectionDef *ps_nat_section(void) { return &nat_section; }

static const char *const linux_masq_pairs[] = {
    "port_range", "1024-65535", "pooling", "paired", "mapping", "address-and-port-dependent",
    "port_preservation", "true", "allocator", "netfilter", "reclaim", "time-wait",
    "tcp_syn_sent", "120s", "tcp_established", "5d", "tcp_fin_wait", "120s",
    "tcp_close_wait", "60s", "tcp_last_ack", "30s", "tcp_time_wait", "120s",
    "tcp_close", "10s", "udp_unreplied", "30s", "udp_assured", "120s",
    "max_mappings", "262144", NULL};
static const char *const aws_pairs[] = {
    "port_range", "1024-65535", "pooling", "arbitrary", "mapping",
    "address-and-port-dependent", "port_preservation", "false", "allocator", "random",
    "reclaim", "none", "tcp_syn_sent", "350s", "tcp_established", "350s", "tcp_fin_wait",
    "60s", "tcp_close_wait", "60s", "tcp_last_ack", "60s", "tcp_time_wait", "60s",
    "tcp_close", "60s", "udp_unreplied", "350s", "udp_assured", "350s",
    "max_per_destination", "55000", "max_mappings", "4000000", NULL};
static const char *const gcp_pairs[] = {
    "port_range", "1024-65535", "pooling", "paired", "mapping", "address-and-port-dependent",
    "port_preservation", "false", "allocator", "random", "reclaim", "none",
    "tcp_syn_sent", "30s", "tcp_established", "1200s", "tcp_fin_wait", "30s",
    "tcp_close_wait", "30s", "tcp_last_ack", "30s", "tcp_time_wait", "120s", "tcp_close",
    "30s", "udp_unreplied", "30s", "udp_assured", "30s", "min_ports_per_host", "64",
    "max_mappings", "4000000", NULL};
static const char *const azure_natgw_pairs[] = {
    "port_range", "1024-65535", "pooling", "arbitrary", "mapping",
    "address-and-port-dependent", "port_preservation", "false", "allocator", "random",
    "reclaim", "none", "tcp_syn_sent", "30s", "tcp_established", "4m", "tcp_fin_wait", "65s",
    "tcp_close_wait", "65s", "tcp_last_ack", "65s", "tcp_time_wait", "65s", "tcp_close",
    "16s", "udp_unreplied", "4m", "udp_assured", "4m", "max_per_destination", "50000",
    "max_mappings", "4000000", NULL};
static const char *const azure_lb_pairs[] = {
    "port_range", "1024-65535", "pooling", "paired", "mapping", "address-and-port-dependent",
    "port_preservation", "false", "allocator", "random", "reclaim", "none",
    "tcp_syn_sent", "4m", "tcp_established", "4m", "tcp_fin_wait", "240s", "tcp_close_wait",
    "240s", "tcp_last_ack", "240s", "tcp_time_wait", "240s", "tcp_close", "15s",
    "udp_unreplied", "4m", "udp_assured", "4m", "ports_per_host", "1024",
    "max_mappings", "4000000", NULL};
static const char *const cgn_pairs[] = {
    "port_range", "1024-65535", "pooling", "paired", "mapping", "endpoint-independent",
    "port_preservation", "false", "allocator", "random", "reclaim", "none",
    "tcp_syn_sent", "240s", "tcp_established", "7440s", "tcp_fin_wait", "240s",
    "tcp_close_wait", "240s", "tcp_last_ack", "240s", "tcp_time_wait", "120s", "tcp_close",
    "240s", "udp_unreplied", "300s", "udp_assured", "300s", "block_size", "1008",
    "max_blocks_per_host", "1", "max_mappings", "4000000", NULL};

static const SimPresetDef nat_presets[] = {
    {"nat", "linux-masquerade",
     "Linux netfilter MASQUERADE/SNAT (6.x): ports 1024-65535 for sources >= 1024, the "
     "original port kept when free, else a random offset and a bounded upward search "
     "(nf_nat_core.c, ports.md §5.7); TIME_WAIT/CLOSE entries evicted during the last 32 "
     "probes (nf_nat_used_tuple_harder(), measured in linux-nat-measured.md); conntrack "
     "timeouts and nf_conntrack_max of a fresh 6.18 namespace (linux-nat-measured.md); "
     "per-destination port overlap (nf_nat_used_tuple()).",
     linux_masq_pairs},
    {"nat", "aws-nat-gateway",
     "AWS NAT gateway: ports 1024-65535 per address, at most 55,000 concurrent connections "
     "per address per unique destination, idle timeout 350 s (vpc-nat-gateway.md, ports.md "
     "§5.8). The hold after close is not documented: 60 s is derived from the stated "
     "equivalent rate of 55,000 per minute per destination. Addresses used in turn (an "
     "assumption); random port choice (an assumption).",
     aws_pairs},
    {"nat", "gcp-cloud-nat",
     "GCP Cloud NAT (static allocation): minPortsPerVm 64, a VM's ports reusable across "
     "destinations, tcpEstablishedIdleTimeoutSec 1200 s, tcpTransitoryIdleTimeoutSec 30 s, "
     "tcpTimeWaitTimeoutSec 120 s (RouterNat API reference, ports.md §5.8). For dynamic port "
     "allocation set max_ports_per_host (and min_ports_per_host = 32).",
     gcp_pairs},
    {"nat", "azure-nat-gateway",
     "Azure NAT Gateway: 64,512 ports per public IP, random port choice, ports reused across "
     "destinations, at most 50,000 concurrent connections per IP to one destination, reuse "
     "cooldown after FIN 65 s and after RST 16 s, half-open 30 s, TCP idle timeout 4 min "
     "(nat-gateway-resource.md, ports.md §5.8). Addresses used in turn (an assumption).",
     azure_natgw_pairs},
    {"nat", "azure-lb-snat",
     "Azure Load Balancer default outbound SNAT: ports preallocated per backend instance by "
     "pool size (1,024 for 1-50 instances; set ports_per_host for larger pools), a port used "
     "per destination IP and port, released 240 s after FIN, 15 s after RST, idle timeout "
     "4 min (load-balancer-outbound-connections.md, ports.md §5.8).",
     azure_lb_pairs},
    {"nat", "cgn-pba",
     "Carrier-grade NAT with port-block allocation: endpoint-independent mapping (RFC 4787 "
     "REQ-1, RFC 5382 REQ-1), paired pooling (RFC 6888 REQ-2), one block of 1,008 ports per "
     "subscriber (RFC 7422 sharing ratio 64, FD.io CSIT det44 table, ports.md §5.5), a freed "
     "port held 120 s (RFC 6888 REQ-8), established idle 2 h 4 min and transitory 4 min "
     "(RFC 5382 REQ-5, RFC 7857).",
     cgn_pairs},
};

void ps_nat_add_presets(SimSchema *schema)
{
    for (guint i = 0; i < G_N_ELEMENTS(nat_presets); i++)
        sim_schema_add_preset(schema, &nat_presets[i]);
}

/* --- helpers ------------------------------------------------------------ */

static SimTime now(const PsNat *nat) { return sim_engine_now(nat->net->engine); }

static NatMap *map_at(PsNat *nat, uint32_t i) { return &g_array_index(nat->maps, NatMap, i); }
static NatEntry *entry_at(PsNat *nat, uint32_t i)
{
    return &g_array_index(nat->entries, NatEntry, i);
}
static NatSub *sub_at(PsNat *nat, uint32_t i) { return &g_array_index(nat->subs, NatSub, i); }

static uint32_t slab_new(GArray *slab, GArray *free_list)
{
    uint32_t i;
    if (free_list->len > 0) {
        i = g_array_index(free_list, uint32_t, free_list->len - 1);
        g_array_set_size(free_list, free_list->len - 1);
    } else {
        i = slab->len;
        g_array_set_size(slab, slab->len + 1);
    }
    memset(slab->data + (gsize)i * g_array_get_element_size(slab), 0,
           g_array_get_element_size(slab));
    return i;
}

static guint dest_hash(gconstpointer p)
{
    const DestKey *k = p;
    guint h = 2166136261u;
    for (guint i = 0; i < 16; i++)
        h = (h ^ k->address.bytes[i]) * 16777619u;
    h = (h ^ k->address.family) * 16777619u;
    h = (h ^ k->udp) * 16777619u;
    return (h ^ k->port) * 16777619u;
}

static gboolean dest_equal(gconstpointer a, gconstpointer b)
{
    const DestKey *x = a, *y = b;
    return x->port == y->port && x->udp == y->udp && x->address.family == y->address.family &&
           memcmp(x->address.bytes, y->address.bytes, 16) == 0;
}

/* The box's own id of a destination (address, port): stable for the run. */
static uint32_t dest_id(PsNat *nat, const SimAddress *a, uint16_t port, gboolean udp)
{
    DestKey k;
    memset(&k, 0, sizeof k);
    k.address = *a;
    k.port = port;
    k.udp = (uint16_t)udp;
    gpointer v = g_hash_table_lookup(nat->dest_ids, &k);
    if (v)
        return GPOINTER_TO_UINT(v) - 1;
    uint32_t id = nat->dest_keys->len;
    DestKey *stored = g_new(DestKey, 1);
    *stored = k;
    g_array_append_val(nat->dest_keys, k);
    g_hash_table_insert(nat->dest_ids, stored, GUINT_TO_POINTER(id + 1));
    return id;
}

static inline gpointer pack3(uint64_t a, uint64_t b, uint64_t c, int bb, int cb)
{
    return GSIZE_TO_POINTER((gsize)((a << (bb + cb)) | (b << cb) | c));
}

static gpointer evict_key(uint16_t addr, PsDestId xdest, uint16_t port, gboolean eim)
{
    return pack3(addr, eim ? 0xffffffu : (xdest & 0xffffffu), port, 24, 16);
}

static void vtrace(PsNat *nat, PsTraceSubject *s, const char *fmt, va_list ap)
{
    if (!ps_trace_log_wants(nat->net->trace, s))
        return;
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    ps_trace_log_event(nat->net->trace, now(nat), s, "NAT %s: %s", nat->name, msg);
}

/* A line about a connection. */
static void trace(PsNat *nat, const PsConn *c, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void trace(PsNat *nat, const PsConn *c, const char *fmt, ...)
{
    if (!nat->net->trace)
        return;
    const PsEndpoint *ep = &g_array_index(c->server->endpoints, PsEndpoint, c->endpoint);
    PsTraceSubject s = {c->pool->host->name, c->serial, &c->pool->address, c->port,
                        &ep->address, ep->port};
    va_list ap;
    va_start(ap, fmt);
    vtrace(nat, &s, fmt, ap);
    va_end(ap);
}

/* A line about an entry, which may outlive its connection's record. */
static void trace_entry(PsNat *nat, const NatEntry *e, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void trace_entry(PsNat *nat, const NatEntry *e, const char *fmt, ...)
{
    if (!nat->net->trace)
        return;
    PsTraceSubject s = {e->pool->host->name, e->serial, &e->pool->address, e->int_port,
                        &e->ep->address, e->ep->port};
    va_list ap;
    va_start(ap, fmt);
    vtrace(nat, &s, fmt, ap);
    va_end(ap);
}

static PsConn *conn_of(PsNat *nat, const NatEntry *e)
{
    return e->conn == NONE ? NULL : &g_array_index(nat->net->conns, PsConn, e->conn);
}

/* The most-loaded subscriber (mappings, i.e. external ports it holds):
 * counts move by one, so the maximum follows. */
static void sub_add(PsNat *nat, NatSub *s, int d)
{
    guint from = s->sessions, to = (guint)((int)s->sessions + d);
    if (nat->top_hist->len <= MAX(from, to))
        g_array_set_size(nat->top_hist, MAX(from, to) + 1);
    g_array_index(nat->top_hist, guint, from)--;
    g_array_index(nat->top_hist, guint, to)++;
    s->sessions = to;
    if (to > nat->top)
        nat->top = to;
    while (nat->top > 0 && g_array_index(nat->top_hist, guint, nat->top) == 0)
        nat->top--;
    sim_gauge_set(nat->top_sub, now(nat), nat->top);
}

static void ports_changed(PsNat *nat, NatAddr *a, PsPortPool *pp, guint before)
{
    int64_t d = (int64_t)ps_pool_ports_in_use(pp) - before;
    if (d == 0)
        return;
    sim_gauge_add(a->ports_in_use, now(nat), d);
    sim_gauge_add(nat->ports_in_use, now(nat), d);
}

static gboolean is_closed_state(guint s) { return s == PS_NAT_TIME_WAIT || s == PS_NAT_CLOSE; }

static void set_state_gauges(PsNat *nat, int old, int new_)
{
    SimTime t = now(nat);
    if (old >= 0) {
        sim_gauge_add(nat->by_state[old], t, -1);
        sim_gauge_add(is_closed_state((guint)old) ? nat->time_wait : nat->active, t, -1);
    }
    if (new_ >= 0) {
        sim_gauge_add(nat->by_state[new_], t, 1);
        sim_gauge_add(is_closed_state((guint)new_) ? nat->time_wait : nat->active, t, 1);
    }
}

static gpointer per_dest_key(uint16_t addr, uint32_t dest) { return pack3(0, addr, dest, 0, 32); }

static void per_dest_add(PsNat *nat, uint16_t addr, uint32_t dest, int d)
{
    if (nat->max_per_dest <= 0)
        return;
    gpointer k = per_dest_key(addr, dest);
    gint64 v = GPOINTER_TO_SIZE(g_hash_table_lookup(nat->per_dest, k)) + d;
    if (v > 0)
        g_hash_table_insert(nat->per_dest, k, GSIZE_TO_POINTER((gsize)v));
    else
        g_hash_table_remove(nat->per_dest, k);
}

static gint64 per_dest_count(PsNat *nat, uint16_t addr, uint32_t dest)
{
    return (gint64)GPOINTER_TO_SIZE(g_hash_table_lookup(nat->per_dest, per_dest_key(addr, dest)));
}

/* --- mappings ----------------------------------------------------------- */

static void block_release(PsNat *nat, NatSub *s, uint32_t block)
{
    if (nat->deterministic)
        return;
    for (guint i = 0; i < s->blocks->len; i++)
        if (g_array_index(s->blocks, uint32_t, i) == block) {
            g_array_remove_index(s->blocks, i);
            break;
        }
    NatAddr *a = &nat->addrs[block / nat->blocks_per_addr];
    g_queue_push_tail(&a->free_blocks, GUINT_TO_POINTER(block % nat->blocks_per_addr));
}

static void map_unref(PsNat *nat, uint32_t mi)
{
    NatMap *m = map_at(nat, mi);
    if (--m->refs > 0)
        return;
    NatAddr *a = &nat->addrs[m->addr];
    PsPortPool *pp = m->udp ? a->udp : a->ports;
    guint before = ps_pool_ports_in_use(pp);
    if (nat->mapping == MAP_EIM)
        ps_pool_bind_release(pp, m->port);
    else
        ps_pool_connect_release(pp, m->xdest, m->port);
    ports_changed(nat, a, pp, before);
    sub_add(nat, sub_at(nat, m->sub), -1);
    if (m->block != NONE && --nat->block_use[m->block] == 0)
        block_release(nat, sub_at(nat, m->sub), m->block);
    g_hash_table_remove(nat->map_index, m->key);
    g_array_append_val(nat->free_maps, mi);
}

static void entry_free_slot(PsNat *nat, uint32_t ei)
{
    g_array_append_val(nat->free_entries, ei);
}

typedef enum { END_EXPIRED, END_RECLAIMED, END_REOPENED } EndWhy;

/* An entry stops holding its mapping. */
static void entry_end(PsNat *nat, uint32_t ei, EndWhy why)
{
    NatEntry *e = entry_at(nat, ei);
    if (!e->holding)
        return;
    e->holding = FALSE;
    if (e->timer != SIM_EVENT_NONE) {
        sim_engine_cancel(nat->net->engine, e->timer);
        e->timer = SIM_EVENT_NONE;
    }
    NatMap *m = map_at(nat, e->map);
    if (is_closed_state(e->state))
        g_hash_table_remove(nat->evictable,
                            evict_key(m->addr, m->xdest, m->port, nat->mapping == MAP_EIM));
    set_state_gauges(nat, e->state, -1);
    per_dest_add(nat, m->addr, e->dest, -1);
    nat->holding--;
    PsConn *c = conn_of(nat, e);
    if (why == END_EXPIRED) {
        nat->expired->value++;
        if (c && c->client != TCP_CLOSED && e->state == PS_NAT_ESTABLISHED)
            nat->expired_in_use->value++;
        trace_entry(nat, e, "mapping expired in %s: external port %u released",
                    state_names[e->state], m->port);
    } else if (why == END_RECLAIMED) {
        nat->reclaimed->value++;
        trace_entry(nat, e, "mapping in %s reclaimed: external port %u taken over",
                    state_names[e->state], m->port);
    }
    map_unref(nat, e->map);
    if (e->conn == NONE)
        entry_free_slot(nat, ei);
}

static void entry_timer(void *ctx, uint64_t arg)
{
    PsNat *nat = ctx;
    NatEntry *e = entry_at(nat, (uint32_t)arg);
    e->timer = SIM_EVENT_NONE;
    entry_end(nat, (uint32_t)arg, END_EXPIRED);
}

static void entry_set(PsNat *nat, uint32_t ei, PsNatState state)
{
    NatEntry *e = entry_at(nat, ei);
    NatMap *m = map_at(nat, e->map);
    gboolean eim = nat->mapping == MAP_EIM;
    if (e->state != state) {
        if (is_closed_state(e->state))
            g_hash_table_remove(nat->evictable, evict_key(m->addr, m->xdest, m->port, eim));
        /* Only an entry alone on its mapping can give its port away. */
        if (is_closed_state(state) && m->refs == 1)
            g_hash_table_insert(nat->evictable, evict_key(m->addr, m->xdest, m->port, eim),
                                GUINT_TO_POINTER(ei + 1));
        set_state_gauges(nat, e->state, state);
        e->state = (uint8_t)state;
    }
    if (e->timer != SIM_EVENT_NONE)
        sim_engine_cancel(nat->net->engine, e->timer);
    e->timer = sim_engine_after(nat->net->engine, nat->timeout[state], entry_timer, nat, ei);
}

/* --- port search -------------------------------------------------------- */

typedef struct {
    gboolean eim;
    gboolean udp;
    PsPortPool *pp; /* the address's pool for the protocol */
    PsDestId xdest;
    uint32_t probes;
    uint32_t evict; /* entry to evict for the port found, or NONE */
    gboolean taken; /* the allocator class already took the port */
    guint before;   /* then: the pool's ports in use before it did */
} Search;

static gboolean usable(NatAddr *a, const Search *s, uint16_t port)
{
    (void)a;
    return s->eim ? ps_pool_bind_ok(s->pp, port) : ps_pool_connect_ok(s->pp, s->xdest, port);
}

/* The address's pool for a protocol; UDP's is made on first use. */
static PsPortPool *pool_for(PsNat *nat, NatAddr *a, gboolean udp)
{
    if (!udp)
        return a->ports;
    if (!a->udp)
        a->udp = ps_pool_new((uint16_t)nat->range.lo, (uint16_t)nat->range.hi);
    return a->udp;
}

/* The range offset of the first usable port among count from start (step
 * 1 or 2, wrapping at span), or -1. */
static int64_t scan(PsNat *nat, NatAddr *a, const Search *s, uint32_t start, uint32_t step,
                    uint32_t count, uint32_t span)
{
    (void)nat;
    (void)a;
    return ps_pool_first_usable(s->pp, s->xdest, s->eim, start, step, count, span);
}

/* nf_nat_l4proto_unique_tuple() with nf_nat_used_tuple_harder(). */
static int search_netfilter(PsNat *nat, NatAddr *a, Search *s)
{
    uint32_t R = nat->range_size;
    uint32_t attempts = MIN(R, 128u);
    for (;;) {
        uint32_t off = sim_rng_below(&nat->rng, 65536) % R;
        int64_t k = scan(nat, a, s, off, 1, attempts, R);
        uint32_t lim = k < 0 ? attempts : (uint32_t)k;
        if (nat->reclaim && !s->udp) {
            /* The last NF_NAT_HARDER_THRESH = 32 attempts may evict. */
            uint32_t from = attempts > 32 ? attempts - 32 : 0;
            for (uint32_t i = from; i < lim; i++) {
                uint16_t port = (uint16_t)(nat->range.lo + (off + i) % R);
                gpointer v = g_hash_table_lookup(nat->evictable,
                                                 evict_key((uint16_t)(a - nat->addrs), s->xdest,
                                                           port, s->eim));
                if (v && map_at(nat, entry_at(nat, GPOINTER_TO_UINT(v) - 1)->map)->refs == 1) {
                    s->probes += i + 1;
                    s->evict = GPOINTER_TO_UINT(v) - 1;
                    return port;
                }
            }
        }
        if (k >= 0) {
            s->probes += (uint32_t)k + 1;
            return (int)(nat->range.lo + (off + (uint32_t)k) % R);
        }
        s->probes += attempts;
        if (attempts >= R || attempts / 2 < 16)
            return -1;
        attempts /= 2;
    }
}

static int search_range(PsNat *nat, NatAddr *a, Search *s, int int_port)
{
    uint32_t R = nat->range_size;
    uint32_t step = 1, span = R, start;
    if (nat->alloc == ALLOC_SEQUENTIAL)
        start = a->cursor % R;
    else
        start = sim_rng_below(&nat->rng, R);
    if (nat->parity && R >= 2) {
        /* Walk only ports of the client port's parity (an odd-sized range
         * leaves its last port out of the walk). */
        step = 2;
        span = R & ~1u;
        uint32_t want = (uint32_t)((int_port - nat->range.lo) & 1);
        start = (start % span) & ~1u;
        start += want;
        if (start >= span)
            start -= 2;
    }
    uint32_t count = span / step;
    int64_t k = scan(nat, a, s, start, step, count, span);
    if (k < 0) {
        s->probes += count;
        return -1;
    }
    s->probes += (uint32_t)k + 1;
    uint32_t off = (uint32_t)((start + (uint64_t)k * step) % span);
    a->cursor = off + 1;
    return (int)(nat->range.lo + off);
}

/* A port within one block (offsets [b*K, b*K + K) of the range). */
static int search_block(PsNat *nat, NatAddr *a, Search *s, uint32_t b)
{
    uint32_t K = nat->block_size, base = b * K;
    uint32_t r = nat->alloc == ALLOC_SEQUENTIAL ? 0 : sim_rng_below(&nat->rng, K);
    int64_t k = scan(nat, a, s, base + r, 1, K - r, nat->range_size);
    if (k >= 0) {
        s->probes += (uint32_t)k + 1;
        return (int)(nat->range.lo + base + r + k);
    }
    s->probes += K - r;
    if (r > 0) {
        k = scan(nat, a, s, base, 1, r, nat->range_size);
        if (k >= 0) {
            s->probes += (uint32_t)k + 1;
            return (int)(nat->range.lo + base + k);
        }
        s->probes += r;
    }
    return -1;
}

static uint32_t sub_of(PsNat *nat, const Origin *o)
{
    gpointer v = g_hash_table_lookup(nat->subs_by_pool, o->key);
    if (v)
        return GPOINTER_TO_UINT(v) - 1;
    NatSub s = {0};
    s.blocks = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    /* Subscribers numbered across the hosts using this box, in scenario
     * order; inner boxes' addresses in the order they first appear. */
    guint index = 0;
    for (guint h = 0; o->client && h < nat->net->hosts->len; h++) {
        PsHost *host = nat->net->hosts->pdata[h];
        if (host == o->client->host) {
            for (guint i = 0; i < host->n_addresses; i++)
                if (host->pool_of[i] == o->client) {
                    index += i;
                    break;
                }
            break;
        }
        gboolean uses = FALSE;
        for (guint w = 0; w < nat->net->workloads->len && !uses; w++) {
            PsWorkload *wl = nat->net->workloads->pdata[w];
            uses = wl->host == host && wl->nat == nat;
        }
        if (uses)
            index += host->n_addresses;
    }
    if (!o->client)
        index = nat->subs->len;
    s.det = index;
    /* Paired pooling: FNV-1a of the subscriber's address. */
    uint32_t hsh = 2166136261u;
    for (guint i = 0; i < 16; i++)
        hsh = (hsh ^ o->address->bytes[i]) * 16777619u;
    s.addr = (uint16_t)(hsh % nat->n_addrs);
    if (nat->deterministic) {
        s.addr = (uint16_t)MIN(index / MAX(nat->blocks_per_addr, 1), nat->n_addrs - 1u);
        if (index < nat->blocks_per_addr * nat->n_addrs)
            g_array_append_val(s.blocks, index);
    }
    uint32_t id = nat->subs->len;
    g_array_append_val(nat->subs, s);
    g_hash_table_insert(nat->subs_by_pool, o->key, GUINT_TO_POINTER(id + 1));
    if (nat->top_hist->len == 0)
        g_array_set_size(nat->top_hist, 1);
    g_array_index(nat->top_hist, guint, 0)++;
    return id;
}

/* Finds an address and port for a new mapping; the port is not taken yet.
 * Returns the port or -1 with *why. */
static int find_mapping(PsNat *nat, const Origin *o, uint32_t sub, uint32_t dest,
                        const PsEndpoint *ep, uint16_t *addr_out, uint32_t *block_out,
                        Search *s, PsNatDrop *why)
{
    NatSub *su = sub_at(nat, sub);
    s->eim = nat->mapping == MAP_EIM;
    *block_out = NONE;
    if (nat->block_size > 0) {
        for (guint i = 0; i < su->blocks->len; i++) {
            uint32_t g = g_array_index(su->blocks, uint32_t, i);
            NatAddr *a = &nat->addrs[g / nat->blocks_per_addr];
            uint16_t ai = (uint16_t)(g / nat->blocks_per_addr);
            if (nat->max_per_dest > 0 && per_dest_count(nat, ai, dest) >= nat->max_per_dest)
                continue;
            s->pp = pool_for(nat, a, s->udp);
            if (!s->eim)
                s->xdest = ps_pool_dest(s->pp, &ep->address,
                                        nat->mapping == MAP_APDM ? ep->port : 0);
            int port = search_block(nat, a, s, g % nat->blocks_per_addr);
            if (port >= 0) {
                *addr_out = ai;
                *block_out = g;
                return port;
            }
        }
        if (nat->deterministic || su->blocks->len >= nat->max_blocks) {
            *why = nat->deterministic && su->blocks->len == 0 ? PS_NAT_DROP_NO_PORT
                                                              : PS_NAT_DROP_PER_SUBSCRIBER;
            return -1;
        }
        for (guint k = 0; k < nat->n_addrs; k++) {
            /* Paired: the subscriber's first block fixes its address (the
             * first from its hash with a free block); later ones follow it. */
            gboolean fixed = nat->paired && su->blocks->len > 0;
            guint ai = fixed ? su->addr : nat->paired ? (su->addr + k) % nat->n_addrs : k;
            NatAddr *a = &nat->addrs[ai];
            if (!g_queue_is_empty(&a->free_blocks)) {
                uint32_t b = GPOINTER_TO_UINT(g_queue_pop_head(&a->free_blocks));
                uint32_t g = ai * nat->blocks_per_addr + b;
                g_array_append_val(su->blocks, g);
                su->addr = (uint16_t)ai;
                s->pp = pool_for(nat, a, s->udp);
                if (!s->eim)
                    s->xdest = ps_pool_dest(s->pp, &ep->address,
                                            nat->mapping == MAP_APDM ? ep->port : 0);
                int port = search_block(nat, a, s, b);
                if (port >= 0) {
                    *addr_out = (uint16_t)ai;
                    *block_out = g;
                    return port;
                }
            }
            if (fixed)
                break;
        }
        *why = PS_NAT_DROP_NO_PORT;
        return -1;
    }
    gboolean limited = FALSE, no_port = FALSE;
    guint first = nat->paired ? su->addr : nat->next_addr;
    guint tries = nat->paired ? 1 : nat->n_addrs;
    for (guint k = 0; k < tries; k++) {
        guint ai = (first + k) % nat->n_addrs;
        NatAddr *a = &nat->addrs[ai];
        if (nat->max_per_dest > 0 && per_dest_count(nat, (uint16_t)ai, dest) >= nat->max_per_dest) {
            limited = TRUE;
            continue;
        }
        s->pp = pool_for(nat, a, s->udp);
        if (!s->eim)
            s->xdest = ps_pool_dest(s->pp, &ep->address,
                                    nat->mapping == MAP_APDM ? ep->port : 0);
        int port = -1;
        if (nat->preserve && o->port >= nat->range.lo && o->port <= nat->range.hi) {
            s->probes++;
            if (usable(a, s, o->port))
                port = o->port;
        }
        if (port < 0 && nat->alloc == ALLOC_CLASS) {
            /* A host strategy (allocator.h) proposes, the pool decides; it
             * takes the port itself. */
            PsAllocRequest req = {
                .mode = s->eim ? PS_ALLOC_BIND : PS_ALLOC_CONNECT,
                .local = &a->address,
                .remote = s->eim ? NULL : &ep->address,
                .remote_port = s->eim ? 0 : ep->port,
                .now = now(nat),
            };
            uint32_t probes = 0;
            s->before = ps_pool_ports_in_use(s->pp);
            port = ps_allocator_take(a->alloc, s->pp, s->eim ? 0 : s->xdest, &req, &probes);
            s->probes += probes;
            s->taken = port >= 0;
        } else if (port < 0) {
            port = nat->alloc == ALLOC_NETFILTER ? search_netfilter(nat, a, s)
                                                 : search_range(nat, a, s, o->port);
        }
        if (port >= 0) {
            if (!nat->paired)
                nat->next_addr = (ai + 1) % nat->n_addrs;
            *addr_out = (uint16_t)ai;
            return port;
        }
        no_port = TRUE;
    }
    *why = no_port || !limited ? PS_NAT_DROP_NO_PORT : PS_NAT_DROP_PER_DESTINATION;
    return -1;
}

static void drop(PsNat *nat, PsConn *c, PsNatDrop why, uint32_t probes)
{
    nat->drops->value++;
    nat->drop[why]->value++;
    if (nat->first_drop == SIM_TIME_NEVER)
        nat->first_drop = now(nat);
    trace(nat, c, "%s dropped (%s, %u probes)", c->wl->udp ? "UDP query" : "SYN",
          drop_names[why], probes);
}

static gpointer map_key(PsNat *nat, const Origin *o, uint32_t dest_full, uint32_t dest_addr,
                        gboolean udp)
{
    uint64_t d = nat->mapping == MAP_EIM   ? 0
                 : nat->mapping == MAP_ADM ? (uint64_t)dest_addr + 1
                                           : (uint64_t)dest_full + 1;
    uint64_t origin = ((uint64_t)(o->pool_id & 0x1fffffu) << 1) | (udp ? 1u : 0u);
    return pack3(origin, o->port, d & 0x3ffffffu, 16, 26);
}

/* A new entry for connection c arriving from o: FALSE when the box drops
 * the packet, else its index in *out. */
static gboolean translate(PsNat *nat, const Origin *o, PsConn *c, uint32_t id, uint32_t *out)
{
    const PsEndpoint *ep = &g_array_index(c->server->endpoints, PsEndpoint, c->endpoint);
    gboolean udp = c->wl->udp;
    uint32_t dest = dest_id(nat, &ep->address, ep->port, udp);
    uint32_t dest_addr = nat->mapping == MAP_ADM ? dest_id(nat, &ep->address, 0, udp) : 0;
    uint32_t sub = sub_of(nat, o);
    gpointer key = map_key(nat, o, dest, dest_addr, udp);
    gpointer found = g_hash_table_lookup(nat->map_index, key);
    uint32_t mi;
    if (found) {
        mi = GPOINTER_TO_UINT(found) - 1;
        NatMap *m = map_at(nat, mi);
        if (nat->max_per_dest > 0 && per_dest_count(nat, m->addr, dest) >= nat->max_per_dest) {
            drop(nat, c, PS_NAT_DROP_PER_DESTINATION, 0);
            return FALSE;
        }
        if (nat->holding >= nat->max_mappings) {
            drop(nat, c, PS_NAT_DROP_TABLE_FULL, 0);
            return FALSE;
        }
        m->refs++;
        if (nat->mapping == MAP_APDM) {
            /* The same 5-tuple again has one conntrack entry: a SYN on an
             * entry in TIME_WAIT reopens it (nf_conntrack_tcp_packet(),
             * ports.md §5.7), a UDP datagram refreshes it. The new
             * connection takes the entry over (the old one ends here). */
            uint32_t old = m->last_entry;
            if (old != NONE && entry_at(nat, old)->holding && entry_at(nat, old)->map == mi)
                entry_end(nat, old, END_REOPENED);
        }
    } else {
        if (nat->holding >= nat->max_mappings) {
            drop(nat, c, PS_NAT_DROP_TABLE_FULL, 0);
            return FALSE;
        }
        Search s = {.evict = NONE, .udp = udp};
        uint16_t ai = 0;
        uint32_t block = NONE;
        PsNatDrop why = PS_NAT_DROP_NO_PORT;
        int port = find_mapping(nat, o, sub, dest, ep, &ai, &block, &s, &why);
        if (port < 0) {
            drop(nat, c, why, s.probes);
            return FALSE;
        }
        NatAddr *a = &nat->addrs[ai];
        if (s.evict != NONE)
            entry_end(nat, s.evict, END_RECLAIMED);
        guint before = s.taken ? s.before : ps_pool_ports_in_use(s.pp);
        if (!s.taken && s.eim)
            ps_pool_bind_take(s.pp, (uint16_t)port);
        else if (!s.taken)
            ps_pool_connect_take(s.pp, s.xdest, (uint16_t)port);
        ports_changed(nat, a, s.pp, before);
        mi = slab_new(nat->maps, nat->free_maps);
        NatMap *m = map_at(nat, mi);
        m->sub = sub;
        m->block = block;
        m->refs = 1;
        m->xdest = s.eim ? 0 : s.xdest;
        m->addr = ai;
        m->port = (uint16_t)port;
        m->udp = udp;
        m->key = key;
        if (block != NONE)
            nat->block_use[block]++;
        sub_add(nat, sub_at(nat, sub), 1);
        g_hash_table_insert(nat->map_index, key, GUINT_TO_POINTER(mi + 1));
        nat->mappings_created->value++;
        char abuf[SIM_ADDRESS_STRLEN];
        sim_address_format(&a->address, abuf);
        trace(nat, c, "mapping created: %s:%d after %u probe%s%s", abuf, port, s.probes,
              s.probes == 1 ? "" : "s", s.evict != NONE ? " (reclaimed a closed entry)" : "");
    }
    uint32_t ei = slab_new(nat->entries, nat->free_entries);
    NatMap *m = map_at(nat, mi);
    m->last_entry = ei;
    NatEntry *e = entry_at(nat, ei);
    e->map = mi;
    e->conn = id;
    e->dest = dest;
    e->pool_id = nat->addrs[m->addr].pool_id;
    e->port = m->port;
    e->int_port = c->port;
    e->pool = c->pool;
    e->ep = ep;
    e->serial = c->serial;
    e->since = now(nat);
    e->holding = TRUE;
    PsNatState first = udp ? PS_NAT_UDP : PS_NAT_SYN_SENT;
    e->state = (uint8_t)first;
    set_state_gauges(nat, -1, first);
    e->timer = sim_engine_after(nat->net->engine, nat->timeout[first], entry_timer, nat, ei);
    per_dest_add(nat, m->addr, dest, 1);
    nat->holding++;
    nat->translated->value++;
    *out = ei;
    return TRUE;
}

/* The connection no longer names entry ei of nat, nor the entries of the
 * boxes outside it. */
static void detach(PsNat *nat, uint32_t ei)
{
    while (nat) {
        NatEntry *e = entry_at(nat, ei);
        uint32_t up = e->up;
        e->conn = NONE;
        e->up = 0;
        if (!e->holding)
            entry_free_slot(nat, ei);
        if (!up)
            break;
        nat = nat->up;
        ei = up - 1;
    }
}

/* A SYN (or UDP query) leaving ei of nat for the box outside it. */
static gboolean translate_up(PsNat *nat, uint32_t ei, PsConn *c, uint32_t id)
{
    while (nat->up) {
        NatEntry *e = entry_at(nat, ei);
        PsNat *up = nat->up;
        if (e->up && entry_at(up, e->up - 1)->holding) {
            NatEntry *u = entry_at(up, e->up - 1);
            if (u->state == PS_NAT_SYN_SENT)
                entry_set(up, e->up - 1, PS_NAT_SYN_SENT);
        } else {
            if (e->up)
                detach(up, e->up - 1);
            e->up = 0;
            NatAddr *xa = &nat->addrs[map_at(nat, e->map)->addr];
            Origin o = {xa, xa->pool_id, &xa->address, e->port, NULL};
            uint32_t uei;
            if (!translate(up, &o, c, id, &uei))
                return FALSE;
            entry_at(nat, ei)->up = uei + 1;
        }
        ei = entry_at(nat, ei)->up - 1;
        nat = up;
    }
    return TRUE;
}

gboolean ps_nat_syn(PsNetwork *net, PsConn *c, uint32_t id)
{
    PsNat *nat = c->wl->nat;
    if (c->nat_entry) {
        NatEntry *e = entry_at(nat, c->nat_entry - 1);
        if (e->holding) {
            /* A retransmitted SYN refreshes a half-open entry; one that
             * crossed the SYN-ACK leaves the entry as it is. */
            if (e->state == PS_NAT_SYN_SENT)
                entry_set(nat, c->nat_entry - 1, PS_NAT_SYN_SENT);
            return translate_up(nat, c->nat_entry - 1, c, id);
        }
        ps_nat_conn_done(net, c);
    }
    Origin o = {c->pool, c->pool->id, &c->pool->address, c->port, c->pool};
    uint32_t ei;
    if (!translate(nat, &o, c, id, &ei))
        return FALSE;
    c->nat_entry = ei + 1;
    return translate_up(nat, ei, c, id);
}

void ps_nat_segment(PsNetwork *net, PsConn *c, PsNatState state)
{
    (void)net;
    PsNat *nat = c->wl->nat;
    for (uint32_t idx = c->nat_entry; idx; nat = nat->up) {
        NatEntry *e = entry_at(nat, idx - 1);
        uint32_t next = e->up;
        if (e->holding) {
            if (state == PS_NAT_ESTABLISHED && e->state == PS_NAT_SYN_SENT && c->syn_retx > 0)
                nat->late_successes->value++;
            entry_set(nat, idx - 1, state);
        }
        idx = next;
    }
}

void ps_nat_udp_reply(PsNetwork *net, PsConn *c)
{
    (void)net;
    if (!c->nat_entry)
        return;
    PsNat *nat = c->wl->nat;
    for (uint32_t idx = c->nat_entry; idx; nat = nat->up) {
        NatEntry *e = entry_at(nat, idx - 1);
        uint32_t next = e->up;
        /* nf_conntrack_proto_udp.c: traffic both ways on a flow older
         * than 2 s makes it a stream (udp_assured); else udp_unreplied. */
        if (e->holding) {
            gboolean stream = e->state == PS_NAT_UDP_STREAM || now(nat) - e->since > 2 * SIM_S;
            entry_set(nat, idx - 1, stream ? PS_NAT_UDP_STREAM : PS_NAT_UDP);
        }
        idx = next;
    }
}

void ps_nat_conn_done(PsNetwork *net, PsConn *c)
{
    (void)net;
    if (!c->nat_entry)
        return;
    detach(c->wl->nat, c->nat_entry - 1);
    c->nat_entry = 0;
}

gboolean ps_nat_outside(const PsNetwork *net, const PsConn *c, uint32_t *pool_id, uint16_t *port)
{
    (void)net;
    if (!c->nat_entry)
        return FALSE;
    /* The outermost box of a chain is what the server sees. */
    const PsNat *nat = c->wl->nat;
    const NatEntry *e = &g_array_index(nat->entries, NatEntry, c->nat_entry - 1);
    while (e->up && nat->up) {
        nat = nat->up;
        e = &g_array_index(nat->entries, NatEntry, e->up - 1);
    }
    *pool_id = e->pool_id;
    *port = e->port;
    return TRUE;
}

gboolean ps_nat_outside_endpoint(const PsNetwork *net, const PsConn *c, SimAddress *addr,
                                 uint16_t *port)
{
    (void)net;
    if (!c->nat_entry)
        return FALSE;
    const PsNat *nat = c->wl->nat;
    const NatEntry *e = &g_array_index(nat->entries, NatEntry, c->nat_entry - 1);
    while (e->up && nat->up) {
        nat = nat->up;
        e = &g_array_index(nat->entries, NatEntry, e->up - 1);
    }
    /* The pool id names the address even after the entry ended. */
    for (guint a = 0; a < nat->n_addrs; a++)
        if (nat->addrs[a].pool_id == e->pool_id) {
            *addr = nat->addrs[a].address;
            *port = e->port;
            return TRUE;
        }
    return FALSE;
}

gboolean ps_nat_conn_mapping(const PsNetwork *net, const PsConn *c, guint *addr, uint16_t *port)
{
    (void)net;
    if (!c->nat_entry)
        return FALSE;
    PsNat *nat = c->wl->nat;
    const NatEntry *e = entry_at(nat, c->nat_entry - 1);
    if (!e->holding)
        return FALSE;
    *addr = map_at(nat, e->map)->addr;
    *port = e->port;
    return TRUE;
}

/* --- building ----------------------------------------------------------- */

gboolean ps_nat_link(PsNetwork *net, GError **error)
{
    for (guint i = 0; i < net->nats->len; i++) {
        PsNat *nat = net->nats->pdata[i];
        if (!sim_section_has(nat->section, "via"))
            continue;
        SimSection *via = sim_section_reference(nat->section, "via");
        for (guint k = 0; k < net->nats->len; k++)
            if (((PsNat *)net->nats->pdata[k])->section == via)
                nat->up = net->nats->pdata[k];
    }
    /* A box may not sit behind itself, directly or not. */
    for (guint i = 0; i < net->nats->len; i++) {
        PsNat *nat = net->nats->pdata[i];
        PsNat *p = nat->up;
        for (guint hops = 0; p; p = p->up)
            if (p == nat || ++hops > net->nats->len)
                return sim_section_error(nat->section, "via", error,
                                         "NAT %s ends up behind itself (a loop of via keys)",
                                         nat->name);
    }
    return TRUE;
}

PsNat *ps_nat_for_workload(PsNetwork *net, SimSection *workload, SimSection *host)
{
    SimSection *via = NULL;
    if (sim_section_has(workload, "via"))
        via = sim_section_reference(workload, "via");
    else if (host && sim_section_has(host, "via"))
        via = sim_section_reference(host, "via");
    if (!via)
        return NULL;
    for (guint i = 0; i < net->nats->len; i++) {
        PsNat *nat = net->nats->pdata[i];
        if (nat->section == via)
            return nat;
    }
    return NULL;
}

static SimGauge *gauge(PsNetwork *net, const char *prefix, const char *metric)
{
    g_autofree char *name = g_strconcat(prefix, ".", metric, NULL);
    return sim_stats_gauge(sim_engine_stats(net->engine), name);
}

static SimCounter *counter(PsNetwork *net, const char *prefix, const char *metric)
{
    g_autofree char *name = g_strconcat(prefix, ".", metric, NULL);
    return sim_stats_counter(sim_engine_stats(net->engine), name);
}

static gint64 int_key(SimSection *sec, const char *key, gint64 def)
{
    return sim_section_has(sec, key) ? sim_section_int(sec, key) : def;
}

PsNat *ps_nat_new(PsNetwork *net, SimSection *sec, GError **error)
{
    PsNat *nat = g_new0(PsNat, 1);
    nat->section = sec;
    nat->name = sim_section_name(sec);
    nat->net = net;
    nat->first_drop = SIM_TIME_NEVER;
    nat->maps = g_array_new(FALSE, FALSE, sizeof(NatMap));
    nat->free_maps = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    nat->entries = g_array_new(FALSE, FALSE, sizeof(NatEntry));
    nat->free_entries = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    nat->map_index = g_hash_table_new(ps_tw_key_hash, g_direct_equal);
    nat->evictable = g_hash_table_new(ps_tw_key_hash, g_direct_equal);
    nat->dest_ids = g_hash_table_new_full(dest_hash, dest_equal, g_free, NULL);
    nat->dest_keys = g_array_new(FALSE, FALSE, sizeof(DestKey));
    nat->per_dest = g_hash_table_new(ps_tw_key_hash, g_direct_equal);
    nat->subs_by_pool = g_hash_table_new(g_direct_hash, g_direct_equal);
    nat->subs = g_array_new(FALSE, FALSE, sizeof(NatSub));
    nat->top_hist = g_array_new(FALSE, TRUE, sizeof(guint));
    g_autofree char *stream = g_strconcat("nat ", nat->name, NULL);
    sim_engine_stream(net->engine, stream, &nat->rng);

    const char *mp = sim_section_text(sec, "mapping");
    nat->mapping = g_str_equal(mp, "endpoint-independent") ? MAP_EIM
                   : g_str_equal(mp, "address-dependent")  ? MAP_ADM
                                                           : MAP_APDM;
    nat->paired = g_str_equal(sim_section_text(sec, "pooling"), "paired");
    const char *al = sim_section_text(sec, "allocator");
    nat->alloc = g_str_has_prefix(al, "netfilter") ? ALLOC_NETFILTER
                 : g_str_equal(al, "random")       ? ALLOC_RANDOM
                 : g_str_equal(al, "sequential")   ? ALLOC_SEQUENTIAL
                                                   : ALLOC_CLASS;
    nat->preserve = sim_section_bool(sec, "port_preservation") &&
                    !g_str_equal(al, "netfilter-random-fully");
    nat->parity = sim_section_bool(sec, "port_parity");
    nat->reclaim = g_str_equal(sim_section_text(sec, "reclaim"), "time-wait");
    for (int s = 0; s < PS_NAT_N_STATES; s++)
        nat->timeout[s] = sim_section_duration(sec, timeout_keys[s]);
    nat->max_mappings = sim_section_int(sec, "max_mappings");
    nat->max_per_dest = int_key(sec, "max_per_destination", 0);
    nat->range = sim_section_range(sec, "port_range");
    nat->range_size = (guint)(nat->range.hi - nat->range.lo + 1);
    nat->deterministic = sim_section_bool(sec, "deterministic");
    nat->max_blocks = (guint)sim_section_int(sec, "max_blocks_per_host");

    /* Three ways to ask for blocks; at most one. */
    const char *given = NULL;
    const char *forms[] = {"block_size", "min_ports_per_host", "ports_per_host"};
    for (guint i = 0; i < G_N_ELEMENTS(forms); i++) {
        if (!sim_section_has(sec, forms[i]))
            continue;
        /* A preset's block form yields to one written in the file. */
        if (given && g_strcmp0(sim_section_source(sec, forms[i]), "preset") != 0 &&
            g_strcmp0(sim_section_source(sec, given), "preset") != 0)
            return sim_section_error(sec, forms[i], error, "set either %s or %s, not both",
                                     given, forms[i]),
                   nat;
        if (!given || g_strcmp0(sim_section_source(sec, given), "preset") == 0)
            given = forms[i];
    }
    if (given) {
        nat->block_size = (guint)sim_section_int(sec, given);
        if (g_str_equal(given, "min_ports_per_host")) {
            gint64 max = int_key(sec, "max_ports_per_host", nat->block_size);
            if (max < (gint64)nat->block_size)
                return sim_section_error(sec, "max_ports_per_host", error,
                                         "%lld is below min_ports_per_host %u", (long long)max,
                                         nat->block_size),
                       nat;
            nat->max_blocks = (guint)(max / nat->block_size);
        } else if (g_str_equal(given, "ports_per_host")) {
            nat->max_blocks = 1;
        }
        if (nat->block_size > nat->range_size)
            return sim_section_error(sec, given, error,
                                     "a block of %u ports does not fit port_range (%u ports)",
                                     nat->block_size, nat->range_size),
                   nat;
        nat->blocks_per_addr = nat->range_size / nat->block_size;
    } else if (nat->deterministic) {
        return sim_section_error(sec, "deterministic", error,
                                 "deterministic NAT needs a block_size (the ports each "
                                 "subscriber owns)"),
               nat;
    } else if (sim_section_has(sec, "max_ports_per_host")) {
        return sim_section_error(sec, "max_ports_per_host", error,
                                 "max_ports_per_host needs min_ports_per_host (the block a "
                                 "host gets first)"),
               nat;
    }
    if (nat->alloc == ALLOC_CLASS && nat->parity)
        return sim_section_error(sec, "port_parity", error,
                                 "port_parity is honoured by the random and sequential "
                                 "allocators only, not by %s",
                                 al),
               nat;
    if (nat->reclaim && nat->alloc != ALLOC_NETFILTER)
        return sim_section_error(sec, "reclaim", error,
                                 "reclaim = time-wait is netfilter's port search; use allocator "
                                 "= netfilter or netfilter-random-fully, or reclaim = none"),
               nat;

    const GArray *addrs = sim_section_addresses(sec, "addresses");
    if (addrs->len == 0)
        return sim_section_error(sec, "addresses", error, "a NAT needs at least one address"),
               nat;
    nat->n_addrs = addrs->len;
    nat->addrs = g_new0(NatAddr, nat->n_addrs);
    guint total_blocks = 0;
    for (guint i = 0; i < nat->n_addrs; i++) {
        NatAddr *a = &nat->addrs[i];
        a->address = g_array_index(addrs, SimAddress, i);
        a->ports = ps_pool_new((uint16_t)nat->range.lo, (uint16_t)nat->range.hi);
        a->pool_id = net->n_pools++;
        if (nat->alloc == ALLOC_CLASS) {
            /* Its own stream per address, as a host's pools have. */
            char sbuf[SIM_ADDRESS_STRLEN];
            sim_address_format(&a->address, sbuf);
            g_autofree char *astream = g_strdup_printf("nat %s allocator %s", nat->name, sbuf);
            SimRng arng;
            sim_engine_stream(net->engine, astream, &arng);
            a->alloc = ps_allocator_new(ps_allocator_class_find(al), (uint16_t)nat->range.lo,
                                        (uint16_t)nat->range.hi, &arng);
        }
        g_queue_init(&a->free_blocks);
        if (nat->block_size > 0 && !nat->deterministic)
            for (guint b = 0; b < nat->blocks_per_addr; b++)
                g_queue_push_tail(&a->free_blocks, GUINT_TO_POINTER(b));
        total_blocks += nat->blocks_per_addr;
        char abuf[SIM_ADDRESS_STRLEN];
        sim_address_format(&a->address, abuf);
        g_autofree char *prefix = g_strdup_printf("%s[%s]", nat->name, abuf);
        a->ports_in_use = gauge(net, prefix, "ports_in_use");
    }
    nat->block_use = g_new0(guint32, MAX(total_blocks, 1));
    nat->active = gauge(net, nat->name, "active");
    nat->time_wait = gauge(net, nat->name, "time_wait");
    nat->ports_in_use = gauge(net, nat->name, "ports_in_use");
    nat->top_sub = gauge(net, nat->name, "top_subscriber_mappings");
    for (int s = 0; s < PS_NAT_N_STATES; s++) {
        g_autofree char *m = g_strconcat("state_", state_names[s], NULL);
        nat->by_state[s] = gauge(net, nat->name, m);
    }
    nat->translated = counter(net, nat->name, "translated");
    nat->mappings_created = counter(net, nat->name, "mappings_created");
    nat->drops = counter(net, nat->name, "drops");
    for (int d = 0; d < PS_NAT_DROP_N; d++) {
        g_autofree char *m = g_strconcat("drops_", drop_names[d], NULL);
        nat->drop[d] = counter(net, nat->name, m);
    }
    nat->reclaimed = counter(net, nat->name, "reclaimed");
    nat->expired = counter(net, nat->name, "expired");
    nat->expired_in_use = counter(net, nat->name, "expired_in_use");
    nat->late_successes = counter(net, nat->name, "late_successes");
    return nat;
}

void ps_nat_free(PsNat *nat)
{
    if (!nat)
        return;
    for (guint i = 0; nat->addrs && i < nat->n_addrs; i++) {
        ps_pool_free(nat->addrs[i].ports);
        ps_allocator_free(nat->addrs[i].alloc);
        if (nat->addrs[i].udp)
            ps_pool_free(nat->addrs[i].udp);
        g_queue_clear(&nat->addrs[i].free_blocks);
    }
    for (guint i = 0; i < nat->subs->len; i++)
        g_array_free(sub_at(nat, i)->blocks, TRUE);
    g_free(nat->addrs);
    g_free(nat->block_use);
    g_array_free(nat->maps, TRUE);
    g_array_free(nat->free_maps, TRUE);
    g_array_free(nat->entries, TRUE);
    g_array_free(nat->free_entries, TRUE);
    g_hash_table_destroy(nat->map_index);
    g_hash_table_destroy(nat->evictable);
    g_hash_table_destroy(nat->dest_ids);
    g_array_free(nat->dest_keys, TRUE);
    g_hash_table_destroy(nat->per_dest);
    g_hash_table_destroy(nat->subs_by_pool);
    g_array_free(nat->subs, TRUE);
    g_array_free(nat->top_hist, TRUE);
    g_free(nat);
}

/* --- outputs ------------------------------------------------------------ */

void ps_nat_register_columns(PsNetwork *net, SimSeries *series)
{
    for (guint i = 0; i < net->nats->len; i++) {
        PsNat *nat = net->nats->pdata[i];
#define COL(gname, g)                                                           \
    do {                                                                        \
        g_autofree char *col_ = g_strconcat(nat->name, "." gname, NULL);        \
        sim_series_add_gauge(series, col_, g);                                  \
    } while (0)
        COL("active", nat->active);
        COL("time_wait", nat->time_wait);
        COL("ports_in_use", nat->ports_in_use);
        COL("top_subscriber_mappings", nat->top_sub);
#undef COL
        if (nat->n_addrs > 1 && nat->n_addrs <= 8)
            for (guint a = 0; a < nat->n_addrs; a++) {
                char abuf[SIM_ADDRESS_STRLEN];
                sim_address_format(&nat->addrs[a].address, abuf);
                g_autofree char *col = g_strdup_printf("%s[%s].ports_in_use", nat->name, abuf);
                sim_series_add_gauge(series, col, nat->addrs[a].ports_in_use);
            }
        g_autofree char *col = g_strconcat(nat->name, ".drops_per_s", NULL);
        sim_series_add_rate(series, col, nat->drops);
        for (int d = 0; d < PS_NAT_DROP_N; d++) {
            g_autofree char *c = g_strdup_printf("%s.drops_%s_per_s", nat->name, drop_names[d]);
            sim_series_add_rate(series, c, nat->drop[d]);
        }
        g_autofree char *rc = g_strconcat(nat->name, ".reclaimed_per_s", NULL);
        sim_series_add_rate(series, rc, nat->reclaimed);
    }
}


/* Client-side outcomes of the workloads through this box. */
static void client_outcomes(const PsNetwork *net, const PsNat *nat, gint64 *timedout,
                            gint64 *retx)
{
    *timedout = *retx = 0;
    for (guint w = 0; w < net->workloads->len; w++) {
        const PsWorkload *wl = net->workloads->pdata[w];
        gboolean through = FALSE;
        for (const PsNat *n = wl->nat; n && !through; n = n->up)
            through = n == nat;
        if (!through)
            continue;
        *timedout += wl->m.by_reason[PS_FAIL_ETIMEDOUT]->value;
        *retx += wl->syn_retransmits->value;
    }
}

void ps_nat_summary(const PsNetwork *net, JsonBuilder *b)
{
    json_builder_set_member_name(b, "nats");
    json_builder_begin_array(b);
    for (guint i = 0; i < net->nats->len; i++) {
        const PsNat *nat = net->nats->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, nat->name);
        ps_json_int(b, "addresses", nat->n_addrs);
        ps_json_int(b, "ports_per_address", nat->range_size);
        ps_json_int(b, "capacity_ports", (gint64)nat->range_size * nat->n_addrs);
        ps_json_int(b, "block_size", nat->block_size);
        ps_json_int(b, "peak_ports_in_use", nat->ports_in_use->max);
        ps_json_int(b, "peak_active", nat->active->max);
        ps_json_int(b, "peak_time_wait", nat->time_wait->max);
        ps_json_int(b, "peak_top_subscriber_mappings", nat->top_sub->max);
        ps_json_int(b, "subscribers", nat->subs->len);
        ps_json_int(b, "translated", nat->translated->value);
        ps_json_int(b, "mappings_created", nat->mappings_created->value);
        ps_json_int(b, "drops", nat->drops->value);
        json_builder_set_member_name(b, "drops_by_reason");
        json_builder_begin_object(b);
        for (int d = 0; d < PS_NAT_DROP_N; d++)
            ps_json_int(b, drop_names[d], nat->drop[d]->value);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "first_drop_s");
        if (nat->first_drop == SIM_TIME_NEVER)
            json_builder_add_null_value(b);
        else
            json_builder_add_double_value(b, sim_time_to_seconds(nat->first_drop));
        ps_json_int(b, "reclaimed", nat->reclaimed->value);
        ps_json_int(b, "expired", nat->expired->value);
        ps_json_int(b, "expired_in_use", nat->expired_in_use->value);
        gint64 timedout, retx;
        client_outcomes(net, nat, &timedout, &retx);
        ps_json_int(b, "client_etimedout", timedout);
        ps_json_int(b, "client_late_successes", nat->late_successes->value);
        ps_json_int(b, "client_syn_retransmits", retx);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

char *ps_nat_event_owner(const PsNetwork *net, void *ctx)
{
    for (guint i = 0; i < net->nats->len; i++)
        if (ctx == net->nats->pdata[i])
            return g_strdup_printf("nat %s (an entry's timeout)",
                                   ((const PsNat *)net->nats->pdata[i])->name);
    return NULL;
}

gboolean ps_nat_pools_empty(const PsNetwork *net)
{
    for (guint i = 0; i < net->nats->len; i++) {
        const PsNat *nat = net->nats->pdata[i];
        for (guint a = 0; a < nat->n_addrs; a++)
            if (!ps_pool_is_empty(nat->addrs[a].ports) ||
                (nat->addrs[a].udp && !ps_pool_is_empty(nat->addrs[a].udp)))
                return FALSE;
    }
    return TRUE;
}

/* Destination endpoints the workloads through this box call (through
 * an inner box too). */
static guint nat_destinations(const PsNetwork *net, const PsNat *nat)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    guint n = 0;
    for (guint i = 0; i < net->workloads->len; i++) {
        const PsWorkload *w = net->workloads->pdata[i];
        gboolean through = FALSE;
        for (const PsNat *b = w->nat; b && !through; b = b->up)
            through = b == nat;
        if (through && w->server && g_hash_table_add(seen, w->server))
            n += w->server->endpoints->len;
    }
    return n;
}

void ps_nat_plot_targets(const PsNetwork *net, GPtrArray *targets)
{
    for (guint i = 0; i < net->nats->len; i++) {
        const PsNat *nat = net->nats->pdata[i];
        PsPlotTarget *t = g_new0(PsPlotTarget, 1);
        t->name = g_strconcat("nat-", nat->name, NULL);
        t->title = g_strdup_printf("NAT %s: entries holding external ports", nat->name);
        g_autofree char *tw = sim_duration_format(nat->timeout[PS_NAT_TIME_WAIT]);
        t->subtitle = g_strdup_printf("%s; ports %lld-%lld x %u address%s; NAT TIME_WAIT %s%s",
                                      sim_section_text(nat->section, "mapping"),
                                      (long long)nat->range.lo, (long long)nat->range.hi,
                                      nat->n_addrs, nat->n_addrs == 1 ? "" : "es", tw,
                                      nat->reclaim ? " (reclaimed)" : "");
        t->col_active = g_strconcat(nat->name, ".active", NULL);
        t->col_time_wait = g_strconcat(nat->name, ".time_wait", NULL);
        t->col_failures = g_strconcat(nat->name, ".drops_per_s", NULL);
        t->failures_label = "dropped SYNs / s";
        /* The entries the box can hold at once: per address and destination
         * its ports, or fewer under a per-destination limit, times the
         * destinations its clients call; the table size caps it all. */
        guint dests = nat_destinations(net, nat);
        gint64 per = nat->range_size;
        if (nat->max_per_dest > 0 && nat->max_per_dest < per)
            per = nat->max_per_dest;
        double cap = (double)per * nat->n_addrs * MAX(dests, 1u);
        gboolean table = nat->max_mappings > 0 && (double)nat->max_mappings < cap;
        t->capacity = table ? (double)nat->max_mappings : cap;
        if (table)
            t->capacity_label = g_strdup_printf("table of %" G_GINT64_FORMAT " entries",
                                                nat->max_mappings);
        else
            t->capacity_label = g_strdup_printf(
                "%" G_GINT64_FORMAT " %s x %u address%s x %u destination%s", per,
                per < (gint64)nat->range_size ? "per destination" : "ports", nat->n_addrs,
                nat->n_addrs == 1 ? "" : "es", MAX(dests, 1u), dests > 1 ? "s" : "");
        t->first_failure_s =
            nat->first_drop == SIM_TIME_NEVER ? NAN : sim_time_to_seconds(nat->first_drop);
        t->mark_times = g_array_new(FALSE, FALSE, sizeof(double));
        t->mark_labels = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(targets, t);
    }
}
