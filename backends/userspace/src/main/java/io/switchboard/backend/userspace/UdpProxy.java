package io.switchboard.backend.userspace;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.switchboard.core.metrics.ProxyMetrics;
import io.switchboard.core.model.IpFamily;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One UDP listener of the userspace proxy: a session per client address, each with its own socket
 * connected to the endpoint the {@link Balancer} picked. Replies go back to the client from the
 * listener. A session ends after {@code idleTimeout} without a datagram in either direction
 * (kube-proxy's {@code udpIdleTimeout}), or at once when its endpoint is removed, so the client's
 * next datagram goes to an endpoint that exists.
 */
final class UdpProxy implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UdpProxy.class);
    /** Datagrams held per session while its endpoint socket connects; more are dropped. */
    static final int MAX_PENDING = 64;

    private final String name;
    private final Transport transport;
    private final Balancer balancer;
    private final ProxyMetrics metrics;
    private final Duration idleTimeout;
    private final Channel server;
    private final Map<InetSocketAddress, Session> sessions = new ConcurrentHashMap<>();

    private final class Session {
        final InetSocketAddress client;
        final InetSocketAddress endpoint;
        final Queue<ByteBuf> pending = new ArrayDeque<>();
        Channel channel;
        boolean connected;

        Session(InetSocketAddress client, InetSocketAddress endpoint) {
            this.client = client;
            this.endpoint = endpoint;
        }
    }

    UdpProxy(String name, Transport transport, EventLoopGroup group, InetSocketAddress bind, Balancer balancer,
             ProxyMetrics metrics, Duration idleTimeout) throws InterruptedException {
        this.name = name;
        this.transport = transport;
        this.balancer = balancer;
        this.metrics = metrics;
        this.idleTimeout = idleTimeout;
        this.server = new Bootstrap().group(group).channel(transport.datagramChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        fromClient(ctx.channel(), p);
                    }
                }).bind(bind).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    int sessions() {
        return sessions.size();
    }

    private void fromClient(Channel srv, DatagramPacket p) {
        InetSocketAddress client = p.sender();
        Session s = sessions.get(client);
        if (s == null) {
            IpFamily family = TcpProxy.family(client.getAddress());
            InetSocketAddress endpoint = balancer.pick(family, client.getAddress(), Set.of());
            if (endpoint == null) {
                return;
            }
            balancer.used(client.getAddress(), endpoint);
            s = open(srv, client, endpoint);
        }
        metrics.userspaceBytes("to_endpoint", p.content().readableBytes());
        if (s.connected) {
            s.channel.writeAndFlush(p.content().retain());
        } else if (s.pending.size() < MAX_PENDING) {
            s.pending.add(p.content().retain());
        }
    }

    private Session open(Channel srv, InetSocketAddress client, InetSocketAddress endpoint) {
        Session s = new Session(client, endpoint);
        sessions.put(client, s);
        metrics.userspaceConnections("UDP", 1);
        s.channel = new Bootstrap().group(srv.eventLoop()).channel(transport.datagramChannel())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS),
                                new SimpleChannelInboundHandler<DatagramPacket>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket reply) {
                                        metrics.userspaceBytes("to_client", reply.content().readableBytes());
                                        srv.writeAndFlush(new DatagramPacket(reply.content().retain(), client));
                                    }

                                    @Override
                                    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                        if (evt instanceof IdleStateEvent) {
                                            ctx.close();
                                        }
                                    }

                                    @Override
                                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                        // e.g. ICMP port unreachable from the endpoint: the session ends
                                        LOG.debug("{}: session {} -> {}: {}", name, client, endpoint, cause.toString());
                                        ctx.close();
                                    }
                                });
                    }
                }).connect(endpoint).addListener((ChannelFutureListener) f -> {
                    Session cur = s;
                    if (f.isSuccess()) {
                        cur.connected = true;
                        ByteBuf b;
                        while ((b = cur.pending.poll()) != null) {
                            f.channel().write(b);
                        }
                        f.channel().flush();
                    } else {
                        LOG.debug("{}: cannot open a session to {}: {}", name, endpoint, f.cause().toString());
                        metrics.userspaceConnectFailure(false);
                        f.channel().close();
                    }
                }).channel();
        s.channel.closeFuture().addListener(f -> {
            sessions.remove(client, s);
            ByteBuf b;
            while ((b = s.pending.poll()) != null) {
                b.release();
            }
            metrics.userspaceConnections("UDP", -1);
        });
        return s;
    }

    /** Ends the sessions whose endpoint the balancer no longer has. */
    void dropStaleSessions() {
        for (Session s : sessions.values()) {
            if (!balancer.contains(s.endpoint)) {
                LOG.debug("{}: endpoint {} is gone; ending the session of {}", name, s.endpoint, s.client);
                s.channel.close();
            }
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        for (Session s : sessions.values()) {
            s.channel.close();
        }
    }
}
