#include "pcap_writer.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pcap/pcap.h>
#include <string.h>

#include "sim_error.h"

/* 2026-01-01T00:00:00Z: simulated time 0. */
#define EPOCH_BASE 1767225600LL

struct PsPcap {
    pcap_t *handle;
    pcap_dumper_t *dumper;
    char *path, *tmp_path;
    guint64 count;
    uint16_t ip_id;
};

PsPcap *ps_pcap_open(const char *path, GError **error)
{
    PsPcap *p = g_new0(PsPcap, 1);
    p->path = g_strdup(path);
    p->tmp_path = g_strconcat(path, ".tmp", NULL);
    p->handle = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    p->dumper = p->handle ? pcap_dump_open(p->handle, p->tmp_path) : NULL;
    if (!p->dumper) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", p->tmp_path,
                    p->handle ? pcap_geterr(p->handle) : "libpcap failed");
        if (p->handle)
            pcap_close(p->handle);
        g_free(p->path);
        g_free(p->tmp_path);
        g_free(p);
        return NULL;
    }
    return p;
}

/* One's-complement sum of 16-bit words (RFC 1071). */
static uint32_t sum16(const uint8_t *data, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (len & 1)
        sum += (uint32_t)data[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* A locally administered MAC made from the address, so each simulated host
 * has a stable one. */
static void mac_of(const SimAddress *a, uint8_t mac[6])
{
    mac[0] = 0x02;
    mac[1] = 0x00;
    const uint8_t *tail = a->family == 4 ? a->bytes : a->bytes + 12;
    memcpy(mac + 2, tail, 4);
}

/* A minimal DNS message (RFC 1035 §4.1) so Wireshark decodes a simulated
 * lookup: one question for an A record, and in the answer one address. */
static size_t dns_message(uint8_t *m, uint16_t id, gboolean answer)
{
    static const uint8_t question[] = {7, 'p', 'o', 'r', 't', 's', 'i', 'm', 7, 'e', 'x', 'a',
                                       'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}; /* A, IN */
    static const uint8_t record[] = {0xc0, 12,  0, 1, 0, 1, 0, 0, 0, 60, /* name, A, IN, TTL */
                                     0,    4,   192, 0, 2, 1};           /* 192.0.2.1 */
    put16(m, id);
    put16(m + 2, answer ? 0x8180 : 0x0100); /* response + RD + RA, or RD */
    put16(m + 4, 1);
    put16(m + 6, answer ? 1 : 0);
    put16(m + 8, 0);
    put16(m + 10, 0);
    memcpy(m + 12, question, sizeof question);
    size_t len = 12 + sizeof question;
    if (answer) {
        memcpy(m + len, record, sizeof record);
        len += sizeof record;
    }
    return len;
}

/* The transport header (and payload) at l4; returns its length. */
static size_t transport(uint8_t *l4, const PsSegment *s)
{
    put16(l4, s->sport);
    put16(l4 + 2, s->dport);
    if (s->kind != PS_SEG_TCP) {
        size_t len = 8 + dns_message(l4 + 8, (uint16_t)s->seq, s->kind == PS_SEG_DNS_ANSWER);
        put16(l4 + 4, (uint16_t)len);
        return len;
    }
    put32(l4 + 4, s->seq);
    put32(l4 + 8, s->flags & PS_TCP_ACK ? s->ack : 0);
    l4[12] = (uint8_t)(20 / 4) << 4;
    l4[13] = s->flags;
    put16(l4 + 14, s->flags & PS_TCP_RST ? 0 : 64240);
    return 20;
}

void ps_pcap_write(PsPcap *p, SimTime at, const PsSegment *s)
{
    uint8_t frame[14 + 40 + 128];
    gboolean v6 = s->src.family == 6;
    uint8_t proto = s->kind == PS_SEG_TCP ? 6 : 17;
    size_t ip_len = v6 ? 40 : 20;
    memset(frame, 0, sizeof frame);
    mac_of(&s->dst, frame);
    mac_of(&s->src, frame + 6);
    put16(frame + 12, v6 ? 0x86dd : 0x0800);

    uint8_t *ip = frame + 14, *l4 = ip + ip_len;
    size_t l4_len = transport(l4, s);
    size_t len = 14 + ip_len + l4_len;

    /* TCP and UDP checksums cover a pseudo-header of addresses, protocol
     * and length (RFC 9293 §3.1, RFC 768; RFC 8200 §8.1 for IPv6). */
    uint32_t sum = 0;
    if (v6) {
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)l4_len);
        ip[6] = proto; /* next header */
        ip[7] = 64;
        memcpy(ip + 8, s->src.bytes, 16);
        memcpy(ip + 24, s->dst.bytes, 16);
        sum = sum16(ip + 8, 32, 0);
    } else {
        ip[0] = 0x45;
        put16(ip + 2, (uint16_t)(ip_len + l4_len));
        put16(ip + 4, p->ip_id++);
        put16(ip + 6, 0x4000); /* don't fragment */
        ip[8] = 64;
        ip[9] = proto;
        memcpy(ip + 12, s->src.bytes, 4);
        memcpy(ip + 16, s->dst.bytes, 4);
        put16(ip + 10, fold(sum16(ip, 20, 0)));
        sum = sum16(ip + 12, 8, 0);
    }
    sum += proto + (uint32_t)l4_len;
    uint16_t check = fold(sum16(l4, l4_len, sum));
    if (proto == 17 && check == 0)
        check = 0xffff; /* 0 means "no checksum" in UDP */
    put16(l4 + (proto == 6 ? 16 : 6), check);

    struct pcap_pkthdr hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.ts.tv_sec = (time_t)(EPOCH_BASE + at / SIM_S);
    hdr.ts.tv_usec = (suseconds_t)(at % SIM_S); /* nanoseconds: the file says so */
    hdr.caplen = hdr.len = (bpf_u_int32)len;
    pcap_dump((u_char *)p->dumper, &hdr, frame);
    p->count++;
}

guint64 ps_pcap_count(const PsPcap *p) { return p->count; }

gboolean ps_pcap_close(PsPcap *p, GError **error)
{
    gboolean ok = pcap_dump_flush(p->dumper) == 0;
    pcap_dump_close(p->dumper);
    pcap_close(p->handle);
    if (ok && g_rename(p->tmp_path, p->path) != 0)
        ok = FALSE;
    if (!ok) {
        g_set_error(error, SIM_ERROR, SIM_ERROR_RUNTIME, "cannot write %s: %s", p->path,
                    g_strerror(errno));
        g_unlink(p->tmp_path);
    }
    g_free(p->path);
    g_free(p->tmp_path);
    g_free(p);
    return ok;
}
