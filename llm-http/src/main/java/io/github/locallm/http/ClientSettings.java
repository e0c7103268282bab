package io.github.locallm.http;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.Credentials;
import okhttp3.OkHttpClient;

/**
 * The per-open settings of an HTTP client that a company network needs: a proxy (with its own credentials,
 * sent to the proxy only) and extra trusted certificates (a company CA that re-signs TLS, or a server's
 * self-signed certificate), kept beside the system's trusted CAs. The result is a client derived from a
 * base one; nothing process-wide changes.
 *
 * <p>Stateless; thread-safe.
 */
public final class ClientSettings {
    private ClientSettings() {
    }

    /**
     * Derives a client with a proxy and extra trusted certificates.
     *
     * @param base the client to derive from, or {@code null} for {@link HttpTransport#defaultClient()}
     * @param proxy {@code http://[user:password@]host:port} or {@code socks5://host:port}, or {@code null}
     *              for the base client's proxy (by default the JVM's proxy selector); {@code direct} for none
     * @param caFile a PEM file of certificates to trust beside the system's, or {@code null}
     * @param what where the values came from, for messages (never quoted with the proxy's password)
     * @return the client; the base itself when both are {@code null}
     * @throws IllegalArgumentException when the proxy is not such a URL or the file holds no certificate
     * @throws java.io.UncheckedIOException when the file cannot be read
     */
    public static OkHttpClient configure(OkHttpClient base, String proxy, Path caFile, String what) {
        OkHttpClient from = base != null ? base : HttpTransport.defaultClient();
        if (proxy == null && caFile == null) {
            return from;
        }
        OkHttpClient.Builder b = from.newBuilder();
        if (proxy != null) {
            applyProxy(b, proxy, what);
        }
        if (caFile != null) {
            X509TrustManager trust = trustWith(caFile, what);
            try {
                SSLContext tls = SSLContext.getInstance("TLS");
                tls.init(null, new TrustManager[] {trust}, null);
                b.sslSocketFactory(tls.getSocketFactory(), trust);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("cannot set up TLS with the certificates of " + caFile, e);
            }
        }
        return b.build();
    }

    private static void applyProxy(OkHttpClient.Builder b, String proxy, String what) {
        String p = proxy.strip();
        if (p.equalsIgnoreCase("direct") || p.equalsIgnoreCase("none")) {
            b.proxy(Proxy.NO_PROXY);
            return;
        }
        URI uri;
        try {
            uri = new URI(p.contains("://") ? p : "http://" + p);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(what + " proxy must be http://host:port or socks5://host:port", e);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (uri.getHost() == null || uri.getPort() < 1 || uri.getPort() > 65535
                || !(scheme.equals("http") || scheme.equals("socks5") || scheme.equals("socks"))
                || (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/"))) {
            throw new IllegalArgumentException(what + " proxy must be http://host:port or socks5://host:port with a"
                    + " port (host " + uri.getHost() + ")");
        }
        Proxy.Type type = scheme.equals("http") ? Proxy.Type.HTTP : Proxy.Type.SOCKS;
        b.proxy(new Proxy(type, InetSocketAddress.createUnresolved(uri.getHost(), uri.getPort())));
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null && type == Proxy.Type.HTTP) {
            int colon = userInfo.indexOf(':');
            String user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            String password = colon < 0 ? "" : decode(userInfo.substring(colon + 1));
            String header = Credentials.basic(user, password);
            // answers the proxy's 407 only: the credentials go to the proxy, never to the origin server
            b.proxyAuthenticator((route, response) -> {
                if (response.request().header("Proxy-Authorization") != null) {
                    return null;
                }
                return response.request().newBuilder().header("Proxy-Authorization", header).build();
            });
        }
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * @param caFile a PEM file of one or more certificates
     * @param what where the setting came from, for messages
     * @return a trust manager that accepts what the system trusts and chains to these certificates
     */
    static X509TrustManager trustWith(Path caFile, String what) {
        Collection<? extends Certificate> certs;
        try (InputStream in = Files.newInputStream(caFile)) {
            certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the certificates of " + what + ": " + caFile, e);
        } catch (CertificateException e) {
            throw new IllegalArgumentException(what + " file " + caFile + " is not a PEM certificate file", e);
        }
        if (certs.isEmpty()) {
            throw new IllegalArgumentException(what + " file " + caFile + " holds no certificate");
        }
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certs) {
                ks.setCertificateEntry("extra-" + i++, c);
            }
            X509TrustManager extra = trustManager(ks);
            X509TrustManager system = trustManager(null);
            return new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    system.checkClientTrusted(chain, authType);
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                    try {
                        extra.checkServerTrusted(chain, authType);
                    } catch (CertificateException e) {
                        system.checkServerTrusted(chain, authType);
                    }
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    List<X509Certificate> all = new ArrayList<>(List.of(system.getAcceptedIssuers()));
                    all.addAll(List.of(extra.getAcceptedIssuers()));
                    return all.toArray(new X509Certificate[0]);
                }
            };
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a trust store from " + caFile, e);
        }
    }

    private static X509TrustManager trustManager(KeyStore ks) throws GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new GeneralSecurityException("no X.509 trust manager");
    }
}
