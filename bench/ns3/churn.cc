// The churn benchmark in ns-3 (3.37), for `bench/run.sh`: one client node,
// one server node on a point-to-point link, new TCP connections at a fixed
// rate, the client closes as soon as the handshake completes, TIME_WAIT set
// to Linux's 60 s (MaxSegLifetime 30 s). Prints the connections completed and
// the wall-clock seconds, so the script can compare simulated connection
// lifecycles per wall second with portsim's on the same scenario.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

using namespace ns3;

static Ptr<Node> client_node;
static Ipv4Address server_address;
static double rate = 267.0;
static uint64_t connected = 0, failed = 0;

static void on_connected(Ptr<Socket> socket)
{
    connected++;
    socket->Close();
}

static void on_failed(Ptr<Socket> socket) { failed++; }

static void open_connection()
{
    Ptr<Socket> socket = Socket::CreateSocket(client_node, TcpSocketFactory::GetTypeId());
    socket->SetConnectCallback(MakeCallback(&on_connected), MakeCallback(&on_failed));
    if (socket->Connect(InetSocketAddress(server_address, 80)) != 0)
        failed++; // no ephemeral port left
    Simulator::Schedule(Seconds(1.0 / rate), &open_connection);
}

static void on_peer_close(Ptr<Socket> socket) { socket->Close(); }

static void on_accept(Ptr<Socket> socket, const Address &from)
{
    socket->SetCloseCallbacks(MakeCallback(&on_peer_close), MakeCallback(&on_peer_close));
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 90.0;
    Config::SetDefault("ns3::TcpSocketBase::MaxSegLifetime", DoubleValue(30.0));
    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper link;
    link.SetDeviceAttribute("DataRate", StringValue("10Gbps"));
    link.SetChannelAttribute("Delay", StringValue("1us"));
    NetDeviceContainer devices = link.Install(nodes);
    InternetStackHelper stack;
    stack.Install(nodes);
    Ipv4AddressHelper addresses;
    addresses.SetBase("10.1.0.0", "255.255.255.0");
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);
    client_node = nodes.Get(0);
    server_address = interfaces.GetAddress(1);

    Ptr<Socket> listener = Socket::CreateSocket(nodes.Get(1), TcpSocketFactory::GetTypeId());
    listener->Bind(InetSocketAddress(Ipv4Address::GetAny(), 80));
    listener->Listen();
    listener->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address &>(),
                                MakeCallback(&on_accept));

    Simulator::Schedule(Seconds(0.0), &open_connection);
    Simulator::Stop(Seconds(seconds));
    auto t0 = std::chrono::steady_clock::now();
    Simulator::Run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    Simulator::Destroy();
    printf("ns3 connections=%llu failed=%llu simulated_s=%.0f wall_s=%.3f\n",
           (unsigned long long)connected, (unsigned long long)failed, seconds, wall);
    return 0;
}
