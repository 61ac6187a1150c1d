// Registry: explicit order, duplicate and malformed ids rejected, did-you-mean on unknown ids.
#include <gtest/gtest.h>

#include "rebench/errors.hpp"
#include "rebench/registry.hpp"
#include "support/test_environment.hpp"

namespace rebench {
namespace {

TEST(Registry, RejectsDuplicates) {
  Registry registry;
  registry.add(testing::make_test_environment("/nowhere"));
  EXPECT_THROW(registry.add(testing::make_test_environment("/nowhere")), Error);
  EXPECT_EQ(registry.ids().size(), 1u);
}

TEST(Registry, UnknownIdSuggestsClosest) {
  Registry registry;
  registry.add(testing::make_test_environment("/nowhere"));
  try {
    registry.get("tset_env");
    FAIL() << "expected UnknownEnvironmentError";
  } catch (const UnknownEnvironmentError& e) {
    EXPECT_EQ(e.code(), ExitCode::kUnknownEnvironment);
    EXPECT_NE(std::string(e.what()).find("did you mean 'test_env'"), std::string::npos);
  }
}

TEST(Registry, NoSuggestionForUnrelatedWords) {
  EXPECT_EQ(closest_match("zzzzzzzzzz", {"optimize_kernel", "fix_embedding"}), "");
  EXPECT_EQ(closest_match("kernel", {"optimize_kernel", "fix_embedding"}), "optimize_kernel");
  EXPECT_EQ(closest_match("fix_embeding", {"optimize_kernel", "fix_embedding"}), "fix_embedding");
}

TEST(Registry, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Registry, BuiltinRegistryHasUniqueWellFormedIdsInOrder) {
  const Registry& registry = builtin_registry();
  std::vector<std::string> ids = registry.ids();
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), "optimize_kernel");
  for (const Environment* env : registry.all()) {
    const EnvironmentInfo& info = env->info();
    EXPECT_FALSE(info.title.empty()) << info.id;
    EXPECT_FALSE(info.transform.formula.empty()) << info.id;
    EXPECT_TRUE(static_cast<bool>(info.transform.apply)) << info.id;
    EXPECT_GT(info.default_time_limit_s, 0) << info.id;
  }
}

}  // namespace
}  // namespace rebench
