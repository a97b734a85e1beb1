package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KernelBuildNameTest {
  @ParameterizedTest
  @ValueSource(strings = {"6.1.0-53-amd64", "6.1.0-53-cloud-amd64", "6.1.0-47-rt-amd64", "6.12.95+deb12-amd64",
      "6.12.95+deb12-cloud-amd64", "6.12.117+deb12-rt-amd64"})
  void acceptsDebianBuildNames(String name) throws DatasetException {
    KernelBuildName build = KernelBuildName.parse(name);
    assertThat(build.packageName()).isEqualTo("linux-image-" + name + "-unsigned");
    assertThat(KernelBuildName.fromPackageName(build.packageName())).isEqualTo(build);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "amd64", "6.1.0-53-amd64/../x", "6.1.0 53", "linux-image-6.1.0-53-amd64",
      "6.1.0-53-amd64;rm", "6.1.0-53-AMD64", "6.1.0-"})
  void rejectsOtherText(String text) {
    assertThatThrownBy(() -> KernelBuildName.parse(text)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("./hb datasets kernels");
  }

  @Test
  void listsKeepOrderAndDropRepeats() throws DatasetException {
    assertThat(KernelBuildName.parseList("6.1.0-53-amd64, 6.12.95+deb12-amd64,6.1.0-53-amd64,"))
        .extracting(KernelBuildName::name).containsExactly("6.1.0-53-amd64", "6.12.95+deb12-amd64");
    assertThatThrownBy(() -> KernelBuildName.parseList(" , ")).isInstanceOf(DatasetException.class);
  }

  @Test
  void packageNamesOfOtherShapesAreNotBuilds() {
    assertThat(KernelBuildName.fromPackageName("linux-image-amd64")).isNull();
    assertThat(KernelBuildName.fromPackageName("linux-image-6.1.0-53-amd64-dbg")).isNull();
  }
}
