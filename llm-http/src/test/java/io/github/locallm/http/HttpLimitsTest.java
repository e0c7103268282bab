package io.github.locallm.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Parsing of limit settings, and defaults that suit a slow CPU yet end a dead connection. */
class HttpLimitsTest {

    @Test
    void durations() {
        assertThat(HttpLimits.parseDuration("k", "250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(HttpLimits.parseDuration("k", "30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(HttpLimits.parseDuration("k", "1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(HttpLimits.parseDuration("k", "5m")).isEqualTo(Duration.ofMinutes(5));
        assertThat(HttpLimits.parseDuration("k", "2h")).isEqualTo(Duration.ofHours(2));
        assertThat(HttpLimits.parseDuration("k", "45")).isEqualTo(Duration.ofSeconds(45));
        assertThat(HttpLimits.parseDuration("k", "PT10S")).isEqualTo(Duration.ofSeconds(10));
        assertThat(HttpLimits.parseDuration("k", "0")).isZero();
        assertThat(HttpLimits.parseDuration("k", "none")).isZero();
        assertThatThrownBy(() -> HttpLimits.parseDuration("idle_timeout", "soon"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("idle_timeout").hasMessageContaining("soon");
        assertThatThrownBy(() -> HttpLimits.parseDuration("idle_timeout", "-5s"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idle_timeout");
        assertThatThrownBy(() -> HttpLimits.parseDuration("idle_timeout", "5x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpLimits.parseDuration("idle_timeout", "9".repeat(100_000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("...");
    }

    @Test
    void durationsFollowCoresOneGrammar() {
        for (String text : new String[] {"250ms", "1.5s", "30", "5m", "2h", "PT10S", " 7S ", "0"}) {
            assertThat(HttpLimits.parseDuration("k", text)).as(text)
                    .isEqualTo(io.github.locallm.spi.OptionValues.parseDuration(text).orElseThrow());
        }
        for (String text : new String[] {"-1s", "PT-1S", "1d", "s", "1e3"}) {
            assertThat(io.github.locallm.spi.OptionValues.parseDuration(text)).as(text).isEmpty();
            assertThatThrownBy(() -> HttpLimits.parseDuration("k", text)).as(text)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void settingsOfAnOpenCall() {
        io.github.locallm.spi.OpenRequest request = new io.github.locallm.spi.OpenRequest(
                io.github.locallm.ModelSpec.parse("x:m"),
                java.util.Map.of("first_token_timeout", "2m", "idle_timeout", "5s", "max_line_bytes", "64k",
                        "min_rate_window", "30s", "max_stream_bytes", "1m"));
        HttpLimits l = HttpLimits.fromSettings(request);
        assertThat(l.idle()).isEqualTo(Duration.ofSeconds(5));
        assertThat(l.firstByte()).isEqualTo(Duration.ofMinutes(2));
        assertThat(l.maxLineBytes()).isEqualTo(64 * 1024);
        assertThat(l.connect()).isEqualTo(HttpLimits.defaults().connect());
        assertThat(l.rateWindow()).isEqualTo(Duration.ofSeconds(30));
        assertThat(l.maxStreamBytes()).isEqualTo(1L << 20);
        assertThat(HttpLimits.SETTINGS).contains("idle_timeout", "max_body_bytes", "min_bytes_per_second",
                "min_rate_window", "max_stream_bytes");
        io.github.locallm.spi.OpenRequest bad = new io.github.locallm.spi.OpenRequest(
                io.github.locallm.ModelSpec.parse("x:m"), java.util.Map.of("request_timeout", "soon"));
        assertThatThrownBy(() -> HttpLimits.fromSettings(bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("request_timeout");
    }

    @Test
    void sizes() {
        assertThat(HttpLimits.parseSize("k", "65536")).isEqualTo(65536);
        assertThat(HttpLimits.parseSize("k", "512k")).isEqualTo(512 * 1024);
        assertThat(HttpLimits.parseSize("k", "16 MiB")).isEqualTo(16L << 20);
        assertThat(HttpLimits.parseSize("k", "2g")).isEqualTo(2L << 30);
        assertThatThrownBy(() -> HttpLimits.parseSize("max_body_bytes", "0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max_body_bytes");
        assertThatThrownBy(() -> HttpLimits.parseSize("max_body_bytes", "9999999999999999g"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HttpLimits.parseSize("max_body_bytes", "lots")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void defaultsBoundEveryAxisYetLeaveRoomForASlowModel() {
        HttpLimits d = HttpLimits.defaults();
        // a large model on a CPU may take minutes to load and read its prompt
        assertThat(d.firstByte()).isGreaterThanOrEqualTo(Duration.ofMinutes(5));
        assertThat(d.idle()).isGreaterThanOrEqualTo(Duration.ofSeconds(30));
        // ...but nothing is unbounded
        assertThat(d.connect()).isPositive();
        assertThat(d.firstByte()).isPositive();
        assertThat(d.idle()).isPositive();
        assertThat(d.request()).isPositive();
        assertThat(d.minBytesPerSecond()).isPositive();
        assertThat(d.maxLineBytes()).isPositive();
        assertThat(d.maxBodyBytes()).isGreaterThanOrEqualTo(d.maxLineBytes());
        assertThat(d.forTransfers().request()).isZero();
        assertThat(d.forTransfers().minBytesPerSecond()).isZero();
        assertThat(d.forTransfers().idle()).isEqualTo(d.firstByte());
        assertThat(d.forTransfers().maxLineBytes()).isEqualTo(d.maxLineBytes());
        HttpLimits shorter = d.toBuilder().request(Duration.ofSeconds(5)).build();
        assertThat(shorter.forTransfers()).isSameAs(shorter);
    }
}
